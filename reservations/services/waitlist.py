"""Waitlist services: join, read, cancel, and promotion when units come back.

Promotion locks the stock row first, so promotions of one row run one after another and a
fresh shopper's reserve waits for them: each waiting entry, oldest first, gets its units held
(by the same one-statement hold as `reserve`, which cannot oversell) if they fit now, and is
skipped if not. It runs after the commit that freed the units, never inside it.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from inventory import locks as stock_locks
from inventory.errors import StockNotFound
from inventory.selectors import available_units
from reservations import access, events, locks
from reservations.coalescer import HoldRequest
from reservations.errors import InvalidTransition, StockAvailable, WaitlistEntryNotFound
from reservations.models import WaitlistEntry
from reservations.notifications import email_shopper
from reservations.policy import check_quantity, hold_ttl
from reservations.services import ruled
from sales import selectors as sale_rules

Status = WaitlistEntry.Status
EventType = events.EventType
PROMOTER = "system:waitlist"


@dataclass(frozen=True)
class Promotion:
    """A waiting entry that got its units: the entry and the hold made for it."""

    waitlist_entry_id: uuid.UUID
    reservation_id: uuid.UUID


def position(entry: WaitlistEntry) -> int | None:
    """Return the entry's place in its queue (1 is next), or None once it is not waiting."""
    if entry.status != Status.WAITING:
        return None
    ahead = WaitlistEntry.objects.filter(
        product_id=entry.product_id, warehouse_id=entry.warehouse_id, status=Status.WAITING
    ).filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk))
    return ahead.count() + 1


@dataclass(frozen=True)
class Joined:
    """The entry a shopper holds on a waitlist, and whether this call created it."""

    entry: WaitlistEntry
    created: bool


def _waiting_entry(*, product_id: int, warehouse_id: int, email: str) -> WaitlistEntry | None:
    return (
        WaitlistEntry.objects.filter(
            product_id=product_id,
            warehouse_id=warehouse_id,
            email__iexact=email,
            status=Status.WAITING,
        )
        .select_related("product", "warehouse")
        .first()
    )


def join_waitlist(
    *, product_id: int, warehouse_id: int, quantity: int, email: str, user=None
) -> Joined:
    """Queue a shopper for units the warehouse cannot cover now.

    An email waits at most once per product and warehouse (a unique index holds it, also
    under races): joining again returns the entry that waits, with created=False. Raise
    StockNotFound for an unknown row and StockAvailable when the units could be reserved
    right away; write nothing then.
    """
    check_quantity(quantity)
    available = available_units(product_id=product_id, warehouse_id=warehouse_id)
    if available is None:
        raise StockNotFound.of_row(product_id, warehouse_id)
    if available >= quantity:
        raise StockAvailable(available=available)
    waiting = _waiting_entry(product_id=product_id, warehouse_id=warehouse_id, email=email)
    if waiting is not None:
        return Joined(waiting, created=False)
    now = timezone.now()
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                product_id=product_id,
                warehouse_id=warehouse_id,
                quantity=quantity,
                email=email,
                user_id=access.owner_id(user),
                created_at=now,
                updated_at=now,
            )
            joined = events.about(
                entry, EventType.WAITLIST_JOINED, actor=access.actor_for(user), at=now
            )
            events.record([joined])
            # Units freed between the availability check and this commit must not be missed.
            offer_freed_units_on_commit([(product_id, warehouse_id)])
    except IntegrityError:  # the same email joined at the same moment, and won
        waiting = _waiting_entry(product_id=product_id, warehouse_id=warehouse_id, email=email)
        if waiting is None:
            raise
        return Joined(waiting, created=False)
    return Joined(
        WaitlistEntry.objects.select_related("product", "warehouse").get(pk=entry.pk), True
    )


def list_entries(*, limit: int, offset: int) -> tuple[list[WaitlistEntry], int]:
    """Return a page of every waitlist entry, newest first, and how many there are (staff)."""
    entries = WaitlistEntry.objects.order_by("-created_at", "-pk")
    return list(entries[offset : offset + limit]), entries.count()


def get_entry(*, entry_id: uuid.UUID, user) -> WaitlistEntry:
    """Return a waitlist entry `user` may see."""
    entry = WaitlistEntry.objects.filter(pk=entry_id).first()
    return access.check_access(entry, user, missing=WaitlistEntryNotFound)


def cancel_entry(*, entry_id: uuid.UUID, user) -> WaitlistEntry:
    """Take a waiting entry off the queue; cancelling twice changes nothing.

    Raise InvalidTransition if it was already promoted (release its reservation instead).
    """
    with transaction.atomic():
        entry = access.check_access(
            locks.lock_waitlist_entry(entry_id), user, missing=WaitlistEntryNotFound
        )
        if entry.status == Status.PROMOTED:
            raise InvalidTransition("The entry was promoted; release its reservation instead.")
        if entry.status == Status.WAITING:
            entry.status = Status.CANCELLED
            entry.updated_at = timezone.now()
            entry.save(update_fields=["status", "updated_at"])
            events.record(
                [
                    events.about(
                        entry,
                        EventType.WAITLIST_CANCELLED,
                        actor=access.actor_for(user),
                        at=entry.updated_at,
                    )
                ]
            )
    return entry


# --- promotion ---------------------------------------------------------------------------


def _promote(entry: WaitlistEntry, *, ruled_product: bool) -> Promotion | None:
    """Hold an entry's units on its (locked) stock row and mark it PROMOTED, if they fit (and,
    for a product under sale rules, if its rules admit the hold: not before the sale opens,
    not past the waiting shopper's limit or the storefront's quota)."""
    now = timezone.now()
    payload = {"waitlistEntryId": str(entry.pk)}
    hold = locks.hold_stock(
        product_id=entry.product_id,
        warehouse_id=entry.warehouse_id,
        quantity=entry.quantity,
        now=now,
        expires_at=now + hold_ttl(),
        actor=PROMOTER,
        user_id=entry.user_id,
        payload=payload,
    )
    if hold is None and ruled_product:
        request = HoldRequest(
            product_id=entry.product_id,
            warehouse_id=entry.warehouse_id,
            quantity=entry.quantity,
            actor=PROMOTER,
            user_id=entry.user_id,
            payload=payload,
        )
        [outcome] = ruled.hold_batch([request], now=now)
        hold = outcome if isinstance(outcome, locks.Hold) else None
    if hold is None:
        return None
    entry.status = Status.PROMOTED
    entry.reservation_id = hold.reservation_id
    entry.updated_at = now
    entry.save(update_fields=["status", "reservation", "updated_at"])
    events.record([events.about(entry, EventType.WAITLIST_PROMOTED, actor=PROMOTER, at=now)])
    return Promotion(entry.pk, hold.reservation_id)


def promote_waiting(*, product_id: int, warehouse_id: int) -> list[Promotion]:
    """Give freed units to the oldest waiting entries that fit now, FIFO; return the promotions.

    Each promoted entry gets a PENDING reservation, a WAITLIST_PROMOTED event and, after
    commit, one email (sent by a Celery task) with a link to its checkout page. Promote
    nobody, and raise nothing, when the row is missing or not sellable (its product or
    warehouse was deactivated): promotion reacts to a change already committed (a release,
    a sweep, more stock) and must never turn it into an error. The entries keep waiting.
    """
    queue = WaitlistEntry.objects.filter(
        product_id=product_id, warehouse_id=warehouse_id, status=Status.WAITING
    )
    if not queue.exists():
        return []
    promotions: list[Promotion] = []
    with transaction.atomic():
        if stock_locks.lock_sellable_stock_row((product_id, warehouse_id)) is None:
            return []
        ruled_product = sale_rules.has_rules(product_id)
        for entry in locks.lock_waiting_entries(product_id=product_id, warehouse_id=warehouse_id):
            promotion = _promote(entry, ruled_product=ruled_product)
            if promotion is not None:
                promotions.append(promotion)
                entry_id = str(promotion.waitlist_entry_id)
                transaction.on_commit(partial(email_shopper.delay, "waitlist_promotion", entry_id))
    return promotions


def _offer(key: stock_locks.StockKey, promotions: list[Promotion] | None) -> None:
    made = promote_waiting(product_id=key[0], warehouse_id=key[1])
    if promotions is not None:
        promotions.extend(made)


def offer_freed_units_on_commit(
    keys: Iterable[stock_locks.StockKey], *, promotions: list[Promotion] | None = None
) -> None:
    """Once the current transaction commits, offer each stock row's units to its waitlist.

    Deferred so a rolled-back change promotes nobody, and so promotion never runs inside (and
    never lengthens) the transaction that holds the freed row's lock. The promotions made are
    appended to `promotions` when it is given. One query finds the rows that have waiting
    entries (a sweep frees units on hundreds of rows, few with a waitlist). A database fault
    there is logged, not raised: the change has committed, and its request must not answer
    503 "retry" (the next release or sweep offers the units again).
    """
    rows = sorted(set(keys))

    def offer_where_waiting() -> None:  # named: Django logs a robust hook's __qualname__
        _offer_where_waiting(rows, promotions)

    transaction.on_commit(offer_where_waiting, robust=True)


def _offer_where_waiting(
    keys: list[stock_locks.StockKey], promotions: list[Promotion] | None
) -> None:
    products = {product_id for product_id, _ in keys}
    waiting = set(
        WaitlistEntry.objects.filter(product_id__in=products, status=Status.WAITING).values_list(
            "product_id", "warehouse_id"
        )
    )
    for key in keys:
        if key in waiting:
            _offer(key, promotions)
