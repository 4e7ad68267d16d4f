"""Carts: hold every line or none, and confirm or release all of a cart's holds at once."""

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from inventory import locks as stock_locks
from inventory.errors import StockNotFound
from inventory.models import Inventory, LedgerEntry
from reservations import access, events, locks, selectors
from reservations.errors import (
    CartNotFound,
    InsufficientStock,
    InvalidTransition,
    ReservationExpired,
)
from reservations.models import Reservation
from reservations.planning import CartLine, PlannedHold, ShortLine, merge_lines, plan_cart
from reservations.policy import check_quantity
from reservations.rules import Plan, Step, TransitionError, plan_confirm, plan_release
from reservations.services import ruled_orm, sweeps, transitions
from reservations.services.holds import RoutedHold
from reservations.services.transitions import WRITERS
from sales.models import WEB
from warehouses.routing import Location, StockOption

LedgerReason = LedgerEntry.Reason

Reason = Reservation.ReleaseReason


@dataclass(frozen=True)
class Cart:
    cart_id: uuid.UUID
    holds: list[RoutedHold]


def _stock_by_product(rows: list[Inventory]) -> dict[int, list[StockOption]]:
    stock: dict[int, list[StockOption]] = defaultdict(list)
    for row in rows:
        location = Location(row.warehouse.lat, row.warehouse.lng)
        stock[row.product_id].append(StockOption(row.warehouse_id, location, row.available))
    return stock


def _check_lines_are_stocked(lines: list[CartLine], rows: list[Inventory]) -> None:
    stocked = {(row.product_id, row.warehouse_id) for row in rows}
    products = {product_id for product_id, _ in stocked}
    for line in lines:
        if line.product_id not in products or (
            line.warehouse_id is not None and (line.product_id, line.warehouse_id) not in stocked
        ):
            where = f"warehouse {line.warehouse_id}" if line.warehouse_id else "any warehouse"
            raise StockNotFound(f"Product {line.product_id} is not stocked in {where}.")


def _shortage_of(line: ShortLine) -> InsufficientStock:
    where = f"warehouse {line.warehouse_id}" if line.warehouse_id else "any warehouse"
    return InsufficientStock(
        f"Product {line.product_id}: only {line.available} unit(s) available in {where}.",
        productId=str(line.product_id),
        warehouseId=None if line.warehouse_id is None else str(line.warehouse_id),
        available=line.available,
    )


def _write_cart(
    plan: list[PlannedHold],
    rows: list[Inventory],
    *,
    cart_id: uuid.UUID,
    user,
    guest_id: uuid.UUID | None,
    channel: str,
    now: datetime,
) -> list[RoutedHold]:
    """Insert the cart's holds and events, then add them to the (locked) stock rows; a
    product under sale rules is admitted by them first (reservations.services.ruled)."""
    row_of = {(row.product_id, row.warehouse_id): row for row in rows}
    user_id = access.owner_id(user)
    guest_id = None if user_id else guest_id
    actor = access.actor_for(user)
    terms = ruled_orm.terms_for_planned(
        [((h.product_id, h.warehouse_id), h.quantity) for h in plan],
        {key: row.available for key, row in row_of.items()},
        channel=channel,
        user_id=user_id,
        guest_id=guest_id,
        now=now,
    )
    holds = [
        RoutedHold(
            Reservation(
                product=row_of[(h.product_id, h.warehouse_id)].product,
                warehouse=row_of[(h.product_id, h.warehouse_id)].warehouse,
                quantity=h.quantity,
                expires_at=now + timedelta(seconds=t.seconds),
                created_at=now,
                updated_at=now,
                user_id=user_id,
                guest_id=guest_id,
                cart_id=cart_id,
                **t.fields(),
            ),
            h.distance_km,
        )
        for h, t in zip(plan, terms, strict=True)
    ]
    Reservation.objects.bulk_create([hold.reservation for hold in holds])
    events.record(
        events.about(
            hold.reservation,
            events.EventType.RESERVED,
            actor=actor,
            at=now,
            cartId=str(cart_id),
        )
        for hold in holds
    )
    stock_locks.apply(
        [locks.stock_change(h.reservation, LedgerReason.RESERVED, actor=actor) for h in holds],
        at=now,
    )
    return holds


# How many times a short cart waits for others releasing its due holds and sweeps again.
SWEEP_ROUNDS = 3


class _SweepAgain:
    """A short attempt that rolled back because others held due holds it had to skip."""


def _reserve_cart_once(
    lines: list[CartLine],
    *,
    origin: Location | None,
    allow_split: bool,
    user,
    guest_id: uuid.UUID | None,
    sweep: bool,
    last: bool = True,
    channel: str = WEB,
) -> Cart | ShortLine | _SweepAgain:
    """Lock the products' stock rows in pk order, plan the cart and hold it; else hold nothing
    and return the short line (or _SweepAgain).

    With `sweep`, first release the due holds on the rows just locked (SKIP LOCKED: never
    waiting on a hold, so taking reservations after stock rows cannot close a cycle). The
    sweep runs only once every row is locked: inside an Idempotency-Key request nothing
    commits before the request does, so a sweep run first would keep a higher row while this
    one locks a lower one (a deadlock). If the cart is still short while due holds that
    others had locked remain on its rows, and this is not the `last` attempt, roll back
    (their holders may be waiting for these rows) and return _SweepAgain; otherwise keep
    the sweep's releases and return the short line.
    """
    cart_id, now = uuid.uuid4(), timezone.now()
    products = {line.product_id for line in lines}
    with transaction.atomic():
        rows = stock_locks.lock_stock_of_products(products)
        if sweep and sweeps.expire_due_on_locked_rows(rows, now=now):
            rows = stock_locks.lock_stock_of_products(products)  # re-read the freed counters
        _check_lines_are_stocked(lines, rows)
        plan = plan_cart(lines, _stock_by_product(rows), origin=origin, allow_split=allow_split)
        if isinstance(plan, ShortLine):
            if not sweep:
                transaction.set_rollback(True)  # let the rows go at once
            elif not last and sweeps.any_due_on_rows(rows, now=now):
                transaction.set_rollback(True)
                return _SweepAgain()
            return plan
        holds = _write_cart(
            plan, rows, cart_id=cart_id, user=user, guest_id=guest_id, channel=channel, now=now
        )
    return Cart(cart_id, holds)


def reserve_cart(
    *,
    lines: list[CartLine],
    origin: Location | None = None,
    allow_split: bool = False,
    user=None,
    guest_id: uuid.UUID | None = None,
    channel: str = WEB,
) -> Cart:
    """Hold every line of a cart, or none of them, for `user` or else the guest `guest_id`.

    Lines for the same product and warehouse are merged. Lines without a warehouse are routed
    to the nearest one that covers them, or with `allow_split` split over the fewest, nearest
    warehouses that together can. All the products' stock rows are locked at once, in primary
    key order, so carts never deadlock each other whatever order their lines come in. When a
    line is short, wait for any request releasing these products' due holds, then lock the
    rows again, release their remaining due holds and try again (up to SWEEP_ROUNDS times
    while others still held some). Raise InsufficientStock naming the first short line, or
    StockNotFound; nothing is held then.
    """
    merged = merge_lines(lines)
    for line in merged:
        check_quantity(line.quantity)
    attempt = partial(
        _reserve_cart_once,
        merged,
        origin=origin,
        allow_split=allow_split,
        user=user,
        guest_id=guest_id,
        channel=channel,
    )
    outcome = attempt(sweep=False)
    rounds = 0
    while not isinstance(outcome, Cart) and rounds < SWEEP_ROUNDS:
        rounds += 1
        # Holding no stock row now (the attempt rolled back), wait for the transactions that
        # are releasing due holds of these products: SKIP LOCKED would pass over them.
        # Unconditionally: a check made after the failed attempt could miss a release that
        # committed in between.
        sweeps.wait_for_sweeps(product_ids={line.product_id for line in merged})
        outcome = attempt(sweep=True, last=rounds == SWEEP_ROUNDS)
        if isinstance(outcome, ShortLine):
            raise _shortage_of(outcome)
    if isinstance(outcome, ShortLine):
        raise _shortage_of(outcome)
    return outcome


def _act_on_cart(
    *,
    cart_id: uuid.UUID,
    user,
    plan: Callable[[Reservation, datetime], Plan],
    reason: str = Reason.CANCELLED,
    actor: str | None = None,
) -> list[Reservation]:
    """Lock a cart's holds, then their stock rows, decide for all, write, commit, refuse.

    Any INVALID transition writes nothing. Otherwise due holds are expired; if any hold is
    expired the rest are left as they are and the cart is refused as expired after commit.
    """
    now = timezone.now()
    with transaction.atomic():
        reservations = locks.lock_cart(cart_id)
        if not reservations:
            raise CartNotFound()
        for reservation in reservations:
            access.check_access(reservation, user, missing=CartNotFound)
        stock_locks.lock_stock_rows((r.product_id, r.warehouse_id) for r in reservations)
        plans = [(reservation, *plan(reservation, now)) for reservation in reservations]
        errors = {error for _, _, error in plans if error is not None}
        if TransitionError.INVALID in errors:
            raise InvalidTransition("A hold in the cart cannot make that change.")
        expired = TransitionError.EXPIRED in errors
        actor = actor or access.actor_for(user)
        for reservation, step, _ in plans:
            if expired and step != Step.EXPIRE:
                continue
            WRITERS[step](reservation, now=now, actor=actor, reason=reason, promotions=None)
    if expired:
        raise ReservationExpired("A hold in the cart expired; its units went back to stock.")
    return reservations


def get_cart(*, cart_id: uuid.UUID, user) -> list[Reservation]:
    """Return the holds of a cart `user` may see, expiring the due ones first.

    Raise CartNotFound if there is no such cart or `user` may not see all of it.
    """
    holds = selectors.cart_holds(cart_id)
    if not holds or not all(access.may_see(hold.user_id, user) for hold in holds):
        raise CartNotFound()
    now = timezone.now()
    return [
        transitions.expire_reservation(reservation_id=hold.pk) if hold.is_due(now) else hold
        for hold in holds
    ]


def confirm_cart(*, cart_id: uuid.UUID, user=None, actor: str | None = None) -> list[Reservation]:
    """Confirm every hold of a cart in one transaction (200 again if already confirmed).

    Raise ReservationExpired if any hold's time is up (due ones are released, the others
    stay pending), InvalidTransition if any was released otherwise; nothing is confirmed then.
    `actor` names a system caller in the audit log (default: from `user`).
    """
    return _act_on_cart(cart_id=cart_id, user=user, plan=plan_confirm, actor=actor)


def release_cart(
    *,
    cart_id: uuid.UUID,
    user=None,
    reason: str = Reason.CANCELLED,
    actor: str | None = None,
) -> list[Reservation]:
    """Release every hold of a cart in one transaction (due ones as EXPIRED, the others with
    `reason`).

    Raise InvalidTransition, releasing nothing, if any hold was confirmed.
    """
    return _act_on_cart(cart_id=cart_id, user=user, plan=plan_release, reason=reason, actor=actor)
