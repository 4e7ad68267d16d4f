"""Check a staff member's email and password for the console, the page and the JSON API alike."""

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from adminpanel.auth import throttle
from adminpanel.auth.errors import InvalidCredentials, NotStaff, SignInRateLimited


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
    email has failed MAX_FAILURES times in the window; InvalidCredentials (and count the
    failure) when they match no active account; NotStaff when they match a shopper's.
    """
    wait = throttle.retry_after(request, email)
    if wait is not None:
        raise SignInRateLimited(retry_after=wait)
    user = authenticate(request, username=_stored_username(email), password=password)
    if user is None:
        throttle.record_failure(request, email)
        raise InvalidCredentials()
    throttle.forget_username(email)
    if not user.is_staff:
        raise NotStaff()
    return user
