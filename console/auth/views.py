"""Sign in to the console and out of it.

Signing in goes through console.auth.signin, as the JSON API does: failures are counted per
client IP and per email, and a shopper's account is refused without being signed in.
"""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from console.auth.forms import ConsoleSignInForm
from console.auth.signin import authenticate_staff
from core.errors import SignInRateLimited, StockdError
from core.links import NEXT, safe_next


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def console_login(request: HttpRequest) -> HttpResponse:
    """Show the sign-in form; on a good staff sign-in go to a safe `next` or the dashboard.

    Wrong credentials answer the form again with 401, too many failures 429 (with
    Retry-After, the password unchecked), a shopper's account 403; none of them signs in.
    """
    if request.method == "GET" and request.user.is_authenticated and request.user.is_staff:
        return redirect(safe_next(request) or "console-dashboard")
    form = ConsoleSignInForm(request.POST if request.method == "POST" else None)
    status = 200
    error_answer: StockdError | None = None
    if form.is_valid():
        try:
            user = authenticate_staff(
                request,
                email=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except StockdError as error:
            error_answer, status = error, error.status
            form.add_error(None, error.detail)
        else:
            login(request, user)
            return redirect(safe_next(request) or resolve_url("console-dashboard"))
    elif form.is_bound:
        status = 400
    context = {
        "form": form,
        NEXT: safe_next(request),
        "rate_limited": isinstance(error_answer, SignInRateLimited),
        "shopper": request.user if request.user.is_authenticated else None,
    }
    response = render(request, "console/auth/login.html", context, status=status)
    if error_answer is not None:
        for header, value in error_answer.headers().items():
            response[header] = value
    return response


@require_POST
def console_logout(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, CSRF-checked) and go back to the console's sign-in page."""
    logout(request)
    messages.info(request, "You're signed out of the console.")
    return redirect("console-login")
