"""Shoppers without an account: their holds belong to the browser session that made them.

The session keeps a random guest id; holds made without an account carry it, so
GET /api/reservations lists them to that session alone. The id is stored in the session only
once a hold succeeds, so a refused request writes no session.
"""

import uuid

from django.http import HttpRequest

SESSION_KEY = "stockd_guest_id"


def session_guest_id(request: HttpRequest) -> uuid.UUID | None:
    """Return the guest id kept in the request's session, or None."""
    value = request.session.get(SESSION_KEY)
    return uuid.UUID(value) if value else None


def guest_id(request: HttpRequest) -> uuid.UUID | None:
    """Return the guest id of the request's session, or None if it has none (or is signed in)."""
    return None if request.user.is_authenticated else session_guest_id(request)


def guest_id_for_new_hold(request: HttpRequest) -> uuid.UUID | None:
    """Return the session's guest id, or a new one to give a new hold (None if signed in)."""
    if request.user.is_authenticated:
        return None
    return guest_id(request) or uuid.uuid4()


def remember_guest(request: HttpRequest, guest: uuid.UUID | None) -> None:
    """Keep `guest` in the session, once a hold made with it succeeded."""
    if guest is not None and request.session.get(SESSION_KEY) != str(guest):
        request.session[SESSION_KEY] = str(guest)
