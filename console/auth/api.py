"""Sign in to the staff JSON API and out of it, at the original's /api/admin/login and logout."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from console.api import StaffApi
from console.auth.signin import authenticate_staff
from core.cross_origin import refuse_cross_site_write
from core.fields import StrictSerializer
from core.openapi import documented

# The original UI's admin pages show only when this cookie says "authenticated"; its API set
# it at sign-in and cleared it at sign-out. It is the UI's gate, never a credential: stockd
# reads nothing from it (every staff endpoint checks the session).
UI_GATE_COOKIE = "stockd_admin_session"


def _set_ui_gate(response: Response) -> None:
    response.set_cookie(
        UI_GATE_COOKIE,
        "authenticated",
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


@extend_schema_serializer(component_name="AdminOk")
class OkSerializer(serializers.Serializer):
    ok = serializers.BooleanField()


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class ConsoleLoginApi(APIView):
    """Sign a staff member in with `{email, password}` and set the session cookie.

    Reachable anonymously, but a cross-site or non-JSON request is refused (403) as on every
    other unsafe staff endpoint. Wrong credentials answer 401 INVALID_CREDENTIALS, too many
    failures 429 RATE_LIMITED with Retry-After, a shopper's account 403; none signs in.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="AdminLoginInput")
    class InputSerializer(StrictSerializer):
        email = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_cross_site_write(request)  # no session yet, and still no sign-in CSRF

    @documented(
        "admin_login",
        request=InputSerializer,
        ok=OkSerializer,
        errors={
            400: "Bad input",
            401: "INVALID_CREDENTIALS: no active account has that email and password",
            403: "Not staff, or a cross-site or non-JSON request",
            429: "RATE_LIMITED (with retryAfter): too many failed sign-ins; see Retry-After",
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate_staff(
            request,
            email=data.validated_data["email"],
            password=data.validated_data["password"],
        )
        login(request, user)
        response = Response({"ok": True})
        _set_ui_gate(response)
        return response


class ConsoleLogoutApi(StaffApi):
    """Sign the staff member out: the session ends and its cookie is cleared."""

    @documented(
        "admin_logout",
        ok=OkSerializer,
        errors={401: "Not signed in", 403: "Not staff, or a cross-site or non-JSON request"},
    )
    def post(self, request):
        logout(request)
        response = Response({"ok": True})
        response.delete_cookie(UI_GATE_COOKIE, samesite="Lax")
        return response
