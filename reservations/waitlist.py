"""Waitlist services: join, read, cancel, and promotion when units come back.

Promotion locks the stock row first, so promotions of one row run one after another and a
fresh shopper's reserve waits for them: each waiting entry, oldest first, gets units through
the normal `reserve` service (which cannot oversell) if they fit now, and is skipped if not.
"""

import contextlib
import contextvars
import logging
import uuid
from collections.abc import Iterator
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import status

from inventory.selectors import available_units
from reservations import locks, services
from reservations.errors import InsufficientStock, InvalidTransition, StockNotFound
from reservations.models import ReservationEvent, WaitlistEntry
from stockd.errors import NotFound, StockdError

logger = logging.getLogger(__name__)

Status = WaitlistEntry.Status
EventType = ReservationEvent.Type


class StockAvailable(StockdError):
    code = "STOCK_AVAILABLE"
    status = status.HTTP_409_CONFLICT
    detail = "Enough units are available now: reserve them instead of joining the waitlist."


class WaitlistEntryNotFound(NotFound):
    detail = "No such waitlist entry."


# --- counting promotions (for GET /api/cron/expire) ------------------------------------------

_tally: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("tally", default=None)


@contextlib.contextmanager
def counting_promotions() -> Iterator[list[int]]:
    """Count the promotions made in this context (they run in on-commit callbacks)."""
    counter = [0]
    token = _tally.set(counter)
    try:
        yield counter
    finally:
        _tally.reset(token)


# --- join, read, cancel ------------------------------------------------------------------


def _record(event_type: str, entry: WaitlistEntry, *, actor: str, **payload) -> None:
    ReservationEvent.objects.create(
        type=event_type,
        product_id=entry.product_id,
        warehouse_id=entry.warehouse_id,
        quantity=entry.quantity,
        reservation_id=entry.reservation_id,
        actor=actor,
        payload={"waitlistEntryId": str(entry.pk), **payload},
        created_at=timezone.now(),
    )


def position(entry: WaitlistEntry) -> int | None:
    """Return the entry's place in its queue (1 is next), or None once it is not waiting."""
    if entry.status != Status.WAITING:
        return None
    ahead = WaitlistEntry.objects.filter(
        product_id=entry.product_id, warehouse_id=entry.warehouse_id, status=Status.WAITING
    ).filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk))
    return ahead.count() + 1


def join_waitlist(
    *, product_id: int, warehouse_id: int, quantity: int, email: str, user=None
) -> WaitlistEntry:
    """Queue a shopper for units the warehouse cannot cover now.

    Raise StockNotFound for an unknown row and StockAvailable when the units could be
    reserved right away; write nothing then.
    """
    services.check_quantity(quantity)
    available = available_units(product_id=product_id, warehouse_id=warehouse_id)
    if available is None:
        raise StockNotFound(f"Product {product_id} is not stocked in warehouse {warehouse_id}.")
    if available >= quantity:
        raise StockAvailable(available=available)
    now = timezone.now()
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=quantity,
            email=email,
            user=user if user is not None and user.is_authenticated else None,
            created_at=now,
            updated_at=now,
        )
        _record(EventType.WAITLIST_JOINED, entry, actor=services.actor_for(user))
        # Units freed between the availability check and this commit must not be missed.
        transaction.on_commit(
            partial(promote_waiting, product_id=product_id, warehouse_id=warehouse_id)
        )
    return entry


def _check_access(entry: WaitlistEntry | None, user) -> WaitlistEntry:
    """Return the entry if `user` may see it (the same rule as for reservations)."""
    if entry is None or not services.may_see(entry.user_id, user):
        raise WaitlistEntryNotFound()
    return entry


def get_entry(*, entry_id: uuid.UUID, user) -> WaitlistEntry:
    """Return a waitlist entry `user` may see."""
    return _check_access(WaitlistEntry.objects.filter(pk=entry_id).first(), user)


def cancel_entry(*, entry_id: uuid.UUID, user) -> WaitlistEntry:
    """Take a waiting entry off the queue; cancelling twice changes nothing.

    Raise InvalidTransition if it was already promoted (release its reservation instead).
    """
    with transaction.atomic():
        entry = _check_access(locks.lock_waitlist_entry(entry_id), user)
        if entry.status == Status.PROMOTED:
            raise InvalidTransition("The entry was promoted; release its reservation instead.")
        if entry.status == Status.WAITING:
            entry.status = Status.CANCELLED
            entry.updated_at = timezone.now()
            entry.save(update_fields=["status", "updated_at"])
            _record(EventType.WAITLIST_CANCELLED, entry, actor=services.actor_for(user))
    return entry


# --- promotion ---------------------------------------------------------------------------


def promote_waiting(*, product_id: int, warehouse_id: int) -> int:
    """Give freed units to the oldest waiting entries that fit now, FIFO; return how many.

    Each promoted entry gets a PENDING reservation through `reserve`, a WAITLIST_PROMOTED
    event and, after commit, one email with a link to its checkout page.
    """
    queue = WaitlistEntry.objects.filter(
        product_id=product_id, warehouse_id=warehouse_id, status=Status.WAITING
    )
    if not queue.exists():
        return 0
    promoted: list[uuid.UUID] = []
    with transaction.atomic():
        if not locks.lock_stock_rows([(product_id, warehouse_id)]):
            return 0
        for entry in locks.lock_waiting_entries(product_id=product_id, warehouse_id=warehouse_id):
            try:
                with transaction.atomic():
                    reservation = services.reserve(
                        product_id=product_id,
                        warehouse_id=warehouse_id,
                        quantity=entry.quantity,
                        user=entry.user,
                        actor="system:waitlist",
                    )
            except InsufficientStock:
                continue  # does not fit now; a later entry may
            entry.status = Status.PROMOTED
            entry.reservation_id = reservation.id
            entry.updated_at = timezone.now()
            entry.save(update_fields=["status", "reservation", "updated_at"])
            _record(EventType.WAITLIST_PROMOTED, entry, actor="system:waitlist")
            promoted.append(entry.pk)
        for entry_id in promoted:
            transaction.on_commit(partial(send_promotion_email, entry_id=entry_id))
    counter = _tally.get()
    if counter is not None:
        counter[0] += len(promoted)
    return len(promoted)


def send_promotion_email(*, entry_id: uuid.UUID) -> None:
    """Tell a promoted shopper their units are held, with a link to check out; log failures."""
    entry = WaitlistEntry.objects.select_related("product", "warehouse").get(pk=entry_id)
    link = f"{settings.SITE_URL}/checkout/{entry.reservation_id}/"
    minutes = settings.RESERVATION_TTL_SECONDS // 60
    try:
        send_mail(
            subject=f"{entry.product.name} is held for you",
            message=(
                f"Good news: {entry.quantity} x {entry.product.name} came back in stock at "
                f"{entry.warehouse.name}, and we are holding it for you for {minutes} minutes.\n\n"
                f"Check out here: {link}\n"
            ),
            from_email=None,
            recipient_list=[entry.email],
        )
    except Exception:
        logger.exception("could not email waitlist entry %s", entry_id)
