"""Reactions to other apps' signals: a guest who signs in takes their holds along."""

from django.contrib.auth.signals import user_logged_in

from reservations.guests import browser_guest_id
from reservations.models import Reservation


def adopt_guest_holds(sender, request, user, **kwargs) -> None:
    """Move the holds the browser made as a guest to the account that just signed in."""
    if request is None:
        return
    guest = browser_guest_id(request)
    if guest is not None:
        Reservation.objects.filter(guest_id=guest, user__isnull=True).update(
            user=user, guest_id=None
        )


def connect() -> None:
    user_logged_in.connect(adopt_guest_holds, dispatch_uid="reservations.adopt_guest_holds")
