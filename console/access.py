"""Who may use the console: staff only. Pages send anonymous visitors to the console's login
and answer other users 403; the JSON API answers 401 and 403."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from rest_framework.permissions import BasePermission


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let staff through; send anonymous visitors to /admin/login/; answer anyone else 403."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("console-login"))
        if not request.user.is_staff:
            raise PermissionDenied("The console is for staff.")
        return view(request, *args, **kwargs)

    return guarded


class IsStaff(BasePermission):
    """DRF: anonymous callers get 401 (NOT_AUTHENTICATED), signed-in non-staff 403."""

    message = "Staff only."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
