"""Sign-up, sign-in and sign-out; password reset is Django's own views with our templates.

Signing in (django.contrib.auth.login) fires user_logged_in, on which reservations/signals.py
moves the holds this browser made as a guest to the account.
"""

from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import DUPLICATE_EMAIL, EmailAuthenticationForm, SignUpForm
from core.links import NEXT, safe_next
from reservations import guests


def _auth_context(request: HttpRequest) -> dict:
    return {NEXT: safe_next(request), "has_guest_holds": guests.guest_id(request) is not None}


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account with an email and a password, sign in, and go to `next` or orders.

    Bad input re-renders the form with a message beside each wrong field and writes nothing.
    """
    if request.user.is_authenticated:
        return redirect(safe_next(request) or "orders")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:  # the same email signed up in the same instant
            form.add_error("email", ValidationError(DUPLICATE_EMAIL, code="duplicate_email"))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to stockd: you're signed in as {user.email}.")
            return HttpResponseRedirect(safe_next(request) or resolve_url("orders"))
    context = {
        "form": form,
        "duplicate_email": form.has_error("email", "duplicate_email"),
        **_auth_context(request),
    }
    return render(request, "accounts/signup.html", context)


class SignInView(auth.LoginView):
    """Sign in with email and password, then go to a safe `next` or the orders page.

    Too many failed sign-ins from this client or for this email answer the form again with
    429 and Retry-After (core.signin_limits, the console's limit too).
    """

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        """Show the form again: 429 with Retry-After once the sign-in limit refuses it."""
        response = super().form_invalid(form)
        if form.rate_limited is not None:
            response.status_code = HTTPStatus.TOO_MANY_REQUESTS
            for header, value in form.rate_limited.headers().items():
                response[header] = value
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {self.request.user.email or 'shopper'}.")
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["has_guest_holds"] = guests.guest_id(self.request) is not None
        return context


class SignOutView(auth.LogoutView):
    """Sign out on POST (a GET is refused with 405) and go back to the catalogue."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You're signed out.")
        return response
