"""Check a staff member's email and password for the console, the page and the JSON API alike."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from console.auth.errors import InvalidCredentials, NotStaff
from core import signin_limits


def _stored_username(email: str) -> str:
    """Return the account's own spelling of `email` (usernames are emails), whatever the case."""
    typed = email.strip()
    stored = list(
        get_user_model()
        .objects.filter(username__iexact=typed)
        .order_by("pk")
        .values_list("username", flat=True)[:10]
    )
    return typed if typed in stored or not stored else stored[0]


def authenticate_staff(request: HttpRequest, *, email: str, password: str) -> AbstractBaseUser:
    """Return the staff user `email` and `password` name, without signing them in.

    Raise SignInRateLimited, without checking the password, once this client IP or this
    email has used up its failures (core.signin_limits, shared with the storefront's sign-in);
    InvalidCredentials (and count the failure) when they match no active account; NotStaff
    when they match a shopper's.
    """
    signin_limits.check(request, email)
    user = authenticate(request, username=_stored_username(email), password=password)
    if user is None:
        signin_limits.record_failure(request, email)
        raise InvalidCredentials()
    signin_limits.forget_username(email)
    if not user.is_staff:
        raise NotStaff()
    return user
