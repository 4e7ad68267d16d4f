"""Preorders: shoppers buy units a stock row expects (incoming) while it has none available.

A preorder is confirmed when it is placed (docs/decisions.md, "Preorders are confirmed when
placed"): its units are not on hand, so nothing is held; it takes places under the row's
PreorderTerms, whose lock serializes placements, so open preorders never pass the limit nor
what is coming. When units arrive (a transfer's receipt), `serve` gives them to the open
preorders oldest first, each its whole quantity if it fits, else what is left (it keeps its
place for the rest), and emails each shopper served.
"""

from dataclasses import dataclass
from datetime import date
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory import locks as stock_locks
from inventory.errors import StockNotFound
from inventory.models import Inventory, LedgerEntry, PreorderTerms
from reservations import access, events
from reservations.admission import outside_window
from reservations.errors import (
    PreorderLimitReached,
    PreordersClosed,
    StockAvailable,
)
from reservations.models import Reservation
from reservations.notifications import email_shopper
from reservations.policy import check_quantity
from sales import selectors as sale_rules
from sales.errors import AccountRequired
from sales.models import WEB

Kind, Status = Reservation.Kind, Reservation.Status
EventType = events.EventType


@dataclass(frozen=True)
class Offer:
    """A stock row's preorder terms as shoppers and staff see them."""

    limit: int | None
    eta: date | None
    placed: int
    remaining: int
    available: int
    incoming: int

    @property
    def is_open(self) -> bool:
        """Whether a shopper may preorder now: terms on, none available, places left."""
        return self.limit is not None and self.available <= 0 and self.remaining > 0


def _row(key: stock_locks.StockKey) -> Inventory:
    row = Inventory.objects.filter(product_id=key[0], warehouse_id=key[1]).first()
    if row is None:
        raise StockNotFound.of_row(*key)
    return row


def _offer(row: Inventory, terms: PreorderTerms | None) -> Offer:
    if terms is None:
        terms = PreorderTerms(stock=row)
    return Offer(
        limit=terms.limit,
        eta=terms.eta,
        placed=terms.placed,
        remaining=terms.remaining(row.incoming_stock),
        available=row.available,
        incoming=row.incoming_stock,
    )


def offer_of(key: stock_locks.StockKey) -> Offer:
    """A row's preorder terms, with places taken and left; raise StockNotFound if unstocked."""
    row = _row(key)
    return _offer(row, PreorderTerms.objects.filter(stock=row).first())


def offers_of_product(product_id: int) -> dict[int, Offer]:
    """The preorder offers of a product's rows that have terms, by warehouse id."""
    terms = PreorderTerms.objects.filter(stock__product_id=product_id).select_related("stock")
    return {t.stock.warehouse_id: _offer(t.stock, t) for t in terms}


def set_terms(key: stock_locks.StockKey, *, limit: int | None, eta: date | None) -> Offer:
    """Turn a row's preorders on (a limit, in units, and an expected date) or off (limit None).

    Open preorders keep their places when the limit falls below them or preorders close; a new
    eta is given to them too. Raise StockNotFound for a row that does not exist.
    """
    with transaction.atomic():
        row = _row(key)
        terms, _ = PreorderTerms.objects.select_for_update().get_or_create(stock=row)
        terms.limit, terms.eta = limit, eta
        terms.save(update_fields=["limit", "eta", "updated_at"])
        _open_preorders(key).update(eta=eta)
    return _offer(row, terms)


def _open_preorders(key: stock_locks.StockKey):
    """A row's confirmed preorders still waiting for units, oldest first."""
    product_id, warehouse_id = key
    return Reservation.objects.filter(
        product_id=product_id,
        warehouse_id=warehouse_id,
        kind=Kind.PREORDER,
        status=Status.CONFIRMED,
        served__lt=F("quantity"),
    ).order_by("created_at", "pk")


def place(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user,
    guest_id=None,
    channel: str = WEB,
) -> Reservation:
    """Place a preorder for `quantity` incoming units of a row: a CONFIRMED reservation of
    kind PREORDER, with the row's eta.

    Refuse (changing nothing) a shopper without an account on the storefront (AccountRequired:
    the preorder outlives the browser session, and its shopper is emailed when it ships), a
    preorder outside the product's sale window (NotOnSale: it must not jump a drop's start;
    the sale's other rules do not apply), a row without open terms (PreordersClosed), a row
    with units available to hold (StockAvailable) and a preorder past the places left
    (PreorderLimitReached).
    """
    check_quantity(quantity)
    if channel == WEB and access.owner_id(user) is None:
        raise AccountRequired("Sign in or create an account to preorder.")
    closed = outside_window(sale_rules.rules_for(product_id, [channel])[channel], timezone.now())
    if closed is not None:
        raise closed
    with transaction.atomic():
        terms = (
            # Only the terms row (of=self): the join must not lock the stock row, which a
            # receipt locks before the terms.
            PreorderTerms.objects.select_for_update(of=("self",))
            .filter(stock__product_id=product_id, stock__warehouse_id=warehouse_id)
            .first()
        )
        row = Inventory.objects.sellable().filter(product_id=product_id, warehouse_id=warehouse_id)
        row = row.first()
        if row is None:
            raise StockNotFound.of_row(product_id, warehouse_id)
        offer = _offer(row, terms)
        if offer.limit is None:
            raise PreordersClosed()
        if offer.available > 0:
            raise StockAvailable(
                "Units are available now: hold them instead of preordering.",
                available=offer.available,
            )
        if quantity > offer.remaining:
            raise PreorderLimitReached(
                f"{offer.remaining} preorder place(s) left, {quantity} asked.",
                remaining=offer.remaining,
            )
        now = timezone.now()
        preorder = Reservation.objects.create(
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=quantity,
            kind=Kind.PREORDER,
            status=Status.CONFIRMED,
            eta=offer.eta,
            expires_at=now,
            created_at=now,
            updated_at=now,
            confirmed_at=now,
            channel=channel,
            user_id=access.owner_id(user),
            guest_id=guest_id if access.owner_id(user) is None else None,
        )
        terms.placed += quantity
        terms.save(update_fields=["placed", "updated_at"])
        actor = access.actor_for(user)
        eta = None if offer.eta is None else offer.eta.isoformat()
        events.record(
            [
                events.about(preorder, EventType.RESERVED, actor=actor, at=now, preorder=True),
                events.about(preorder, EventType.CONFIRMED, actor=actor, at=now, eta=eta),
            ]
        )
    return preorder


@dataclass(frozen=True)
class Served:
    """Units a receipt gave to one preorder."""

    reservation_id: str
    units: int


def serve_arrivals(
    arrived: dict[stock_locks.StockKey, int],
    rows: dict[stock_locks.StockKey, Inventory],
    *,
    actor: str,
) -> set[stock_locks.StockKey]:
    """Give units that arrived on locked rows (`arrived`, by row; `rows`, their states now) to
    their open preorders: one query finds the rows that have any (a receipt of 10,000 rows
    has few). Each row gives at most what it has available. Return the rows that served."""
    waiting = set(
        PreorderTerms.objects.filter(
            placed__gt=0, stock_id__in=[rows[key].id for key in arrived]
        ).values_list("stock__product_id", "stock__warehouse_id")
    )
    served = set()
    for key in sorted(waiting):
        if serve(key, min(arrived[key], rows[key].available), actor=actor):
            served.add(key)
    return served


def serve(key: stock_locks.StockKey, units: int, *, actor: str) -> list[Served]:
    """Give up to `units` arrived good units of a locked row to its open preorders, oldest
    first, inside the caller's transaction: those units leave on hand (one PREORDERED ledger
    entry), each preorder served gets a PREORDER_SERVED event and, after commit, an email.

    Nobody is skipped: a preorder that does not fit whole takes what is left and keeps its
    place for the rest. Return what each preorder got.
    """
    if units <= 0:
        return []
    terms = PreorderTerms.objects.select_for_update(of=("self",)).filter(
        stock__product_id=key[0], stock__warehouse_id=key[1]
    )
    terms = terms.first()
    now = timezone.now()
    served: list[Served] = []
    changed: list[Reservation] = []
    left = units
    # Only a receipt changes `served`, under the row's and the terms' locks: no lock needed.
    # Each preorder served takes a unit at least: no more than `units` of them are read.
    for preorder in _open_preorders(key)[:units]:
        if left == 0:
            break
        given = min(left, preorder.quantity - preorder.served)
        left -= given
        preorder.served += given
        preorder.served_at = preorder.updated_at = now
        changed.append(preorder)
        served.append(Served(str(preorder.pk), given))
    if not changed:
        return []
    Reservation.objects.bulk_update(changed, ["served", "served_at", "updated_at"])
    events.record(
        events.about(preorder, EventType.PREORDER_SERVED, actor=actor, at=now, units=s.units)
        for preorder, s in zip(changed, served, strict=True)
    )
    for s in served:
        transaction.on_commit(partial(email_shopper.delay, "preorder_served", s.reservation_id))
    used = units - left
    stock_locks.apply(
        [stock_locks.Change(key, LedgerEntry.Reason.PREORDERED, actor, on_hand=-used)], at=now
    )
    if terms is not None:
        terms.placed -= used
        terms.save(update_fields=["placed", "updated_at"])
    return served
