"""Shoppers without an account: their holds belong to the browser that made them.

A signed cookie (`stockd_guest`, a browser-session cookie) carries a random guest id; holds
made without an account carry it too, so GET /api/reservations lists them to that browser
alone. Nothing is stored on the server for it (no session write on the hot path), and the
cookie is set only once a hold succeeds, so a refused request sets nothing.
"""

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE = "stockd_guest"
_SALT = "stockd.guest"


def browser_guest_id(request: HttpRequest) -> uuid.UUID | None:
    """Return the guest id the browser's cookie carries, or None (none, or tampered with)."""
    value = request.get_signed_cookie(COOKIE, default=None, salt=_SALT)
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def guest_id(request: HttpRequest) -> uuid.UUID | None:
    """Return the guest id of a shopper without an account, or None (signed in, or none yet)."""
    return None if request.user.is_authenticated else browser_guest_id(request)


def guest_id_for_new_hold(request: HttpRequest) -> uuid.UUID | None:
    """Return the browser's guest id, or a new one to give a new hold (None if signed in)."""
    if request.user.is_authenticated:
        return None
    return guest_id(request) or uuid.uuid4()


def remember_guest(request: HttpRequest, response: HttpResponse, guest: uuid.UUID | None) -> None:
    """Give the browser its guest id, once a hold made with it succeeded.

    `guest` comes from guest_id_for_new_hold, which verified the cookie's signature: when the
    cookie already carries this id it was its source, so it is neither verified nor set again
    (the reserve hot path signs at most once per browser).
    """
    if guest is None or request.COOKIES.get(COOKIE, "").split(":", 1)[0] == str(guest):
        return
    response.set_signed_cookie(
        COOKIE,
        str(guest),
        salt=_SALT,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
