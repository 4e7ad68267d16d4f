"""The waitlist entries a shopper joined from the product page, remembered in their session.

The product page shows a joined entry's place and email, with a way to leave, for as long as
it waits. A signed-in shopper's own entries count wherever they joined; a guest's are the
ones this session joined (an anonymous entry is reachable by whoever holds its id).
"""

import uuid
from dataclasses import dataclass

from django.http import HttpRequest

from reservations.models import WaitlistEntry
from reservations.selectors import waiting_entry
from reservations.services.waitlist import position

SESSION_KEY = "stockd_waitlist"
REMEMBERED = 20  # the newest entries a session keeps; older ones still wait, unseen here


def remember(request: HttpRequest, entry: WaitlistEntry) -> None:
    """Remember that this session joined `entry`."""
    joined = [raw for raw in request.session.get(SESSION_KEY, []) if raw != str(entry.id)]
    request.session[SESSION_KEY] = [str(entry.id), *joined][:REMEMBERED]


def joined_ids(request: HttpRequest) -> list[uuid.UUID]:
    """The entries this session joined, newest first."""
    return [uuid.UUID(raw) for raw in request.session.get(SESSION_KEY, [])]


@dataclass(frozen=True)
class Waiting:
    """A shopper's entry in a queue, and their place in it (1 is next)."""

    entry: WaitlistEntry
    place: int


def waiting_here(request: HttpRequest, *, product_id: int, warehouse_id: int) -> Waiting | None:
    """The shopper's entry that waits for this product in this warehouse, if any."""
    entry = waiting_entry(
        product_id=product_id,
        warehouse_id=warehouse_id,
        entry_ids=joined_ids(request),
        user=request.user,
    )
    place = position(entry) if entry is not None else None
    return Waiting(entry, place) if place is not None else None
