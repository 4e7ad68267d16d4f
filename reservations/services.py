"""Reservation services: every change of a hold's state goes through these functions.

Each public service is one transaction. Locks are taken only through reservations.locks,
in its global order; the pure planners in reservations.rules decide what to do with a
locked hold. Domain errors are raised after the transaction commits, so an expiry found on
the way (a confirm of a hold whose time is up) is kept even though the caller gets a 410.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import Inventory, Product
from inventory.selectors import available_units, stock_options
from inventory.signals import stock_released
from reservations import locks, selectors
from reservations.errors import (
    ExtensionLimit,
    InsufficientStock,
    InvalidTransition,
    ReservationExpired,
    ReservationNotFound,
    StockNotFound,
)
from reservations.models import Reservation, ReservationEvent
from reservations.planning import CartLine, PlannedHold, ShortLine, merge_lines, plan_cart
from reservations.rules import (
    Plan,
    Refusal,
    Step,
    plan_confirm,
    plan_expiry,
    plan_extend,
    plan_release,
)
from stockd.errors import StockdError
from warehouses.models import Warehouse
from warehouses.routing import Location, StockOption, distance_km, rank_warehouses, total_available

Status = Reservation.Status
Reason = Reservation.ReleaseReason
EventType = ReservationEvent.Type

SWEEP_BATCH_SIZE = 500
_REFUSALS: dict[Refusal, type[StockdError]] = {
    Refusal.EXPIRED: ReservationExpired,
    Refusal.INVALID: InvalidTransition,
    Refusal.EXTENSION_LIMIT: ExtensionLimit,
}


class InvalidQuantity(StockdError):
    code = "VALIDATION_ERROR"


def actor_for(user) -> str:
    """Name who acts, for the audit log: a user, an anonymous shopper, or the system."""
    if user is None:
        return "system"
    if not user.is_authenticated:
        return "anonymous"
    return f"user:{user.pk}"


def _ttl() -> timedelta:
    return timedelta(seconds=settings.RESERVATION_TTL_SECONDS)


def check_quantity(quantity: int) -> None:
    limit = settings.MAX_QUANTITY_PER_RESERVATION
    if not 1 <= quantity <= limit:
        raise InvalidQuantity(f"quantity must be between 1 and {limit}.")


def may_see(owner_id: int | None, user) -> bool:
    """Tell whether `user` may see and act on something owned by `owner_id`.

    Anonymous holds and entries are reachable by anyone holding their UUID; a signed-in
    shopper's only by that shopper and staff. user=None is the system (jobs, commands).
    """
    if user is None or owner_id is None or user.is_staff:
        return True
    return user.is_authenticated and owner_id == user.pk


def _check_access(reservation: Reservation | None, user) -> Reservation:
    """Return the reservation if `user` may see it; else raise ReservationNotFound."""
    if reservation is None or not may_see(reservation.user_id, user):
        raise ReservationNotFound()
    return reservation


# --- reserve -----------------------------------------------------------------------------


def _reservation_from_hold(hold: locks.Hold) -> Reservation:
    return Reservation(
        id=hold.reservation_id,
        product=Product(
            id=hold.product_id,
            name=hold.product_name,
            price=hold.product_price,
            image=hold.product_image,
        ),
        warehouse=Warehouse(
            id=hold.warehouse_id, name=hold.warehouse_name, city=hold.warehouse_city
        ),
        quantity=hold.quantity,
        status=Status.PENDING,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        updated_at=hold.created_at,
        extended=False,
        user_id=hold.user_id,
        cart_id=hold.cart_id,
    )


def _shortage(product_id: int, warehouse_id: int) -> StockdError:
    """Explain a failed hold: the stock row is missing or inactive, or it is short."""
    available = available_units(product_id=product_id, warehouse_id=warehouse_id)
    if available is None:
        return StockNotFound(f"Product {product_id} is not stocked in warehouse {warehouse_id}.")
    return InsufficientStock(
        f"Only {available} unit(s) available in warehouse {warehouse_id}.",
        available=available,
    )


def reserve(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user=None,
    cart_id: uuid.UUID | None = None,
    actor: str | None = None,
) -> Reservation:
    """Hold `quantity` units of a product in a warehouse for RESERVATION_TTL_SECONDS.

    On PostgreSQL the hold is one statement. If the row is short, release its due holds (time
    up but not yet swept) and try once more. If it is still short, raise InsufficientStock
    with the units available; if the product or warehouse is unknown or inactive, raise
    StockNotFound. Nothing is written when it fails.
    """
    check_quantity(quantity)

    def attempt() -> locks.Hold | None:
        now = timezone.now()
        return locks.hold_stock(
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=quantity,
            now=now,
            expires_at=now + _ttl(),
            actor=actor or actor_for(user),
            user_id=user.pk if user is not None and user.is_authenticated else None,
            cart_id=cart_id,
        )

    hold = attempt()
    if hold is None and expire_due_reservations(stock_key=(product_id, warehouse_id)):
        hold = attempt()
    if hold is None:
        raise _shortage(product_id, warehouse_id)
    return _reservation_from_hold(hold)


@dataclass(frozen=True)
class RoutedHold:
    """A hold and, when the shopper's location was known, its warehouse's distance."""

    reservation: Reservation
    distance_km: float | None = None


def _nearest_first(product_id: int, quantity: int, origin: Location | None) -> list[StockOption]:
    options = stock_options(product_id=product_id)
    if not options:
        raise StockNotFound(f"Product {product_id} is not stocked in any active warehouse.")
    return [o for o in rank_warehouses(options, origin) if o.available >= quantity]


def reserve_nearest(
    *, product_id: int, quantity: int, origin: Location | None = None, user=None
) -> RoutedHold:
    """Hold `quantity` units in the nearest active warehouse that has them all.

    Without `origin`, prefer the warehouse with the most available. When another shopper
    empties the chosen warehouse first, fall through to the next one: each attempt is its own
    one-row statement, so no transaction ever holds one warehouse while waiting for another
    (no deadlock). Raise InsufficientStock with the total available only when no warehouse
    can cover it (after releasing the product's due holds and looking once more).
    """
    check_quantity(quantity)
    for attempt in (1, 2):
        for option in _nearest_first(product_id, quantity, origin):
            try:
                reservation = reserve(
                    product_id=product_id,
                    warehouse_id=option.warehouse_id,
                    quantity=quantity,
                    user=user,
                )
            except (InsufficientStock, StockNotFound):
                continue  # emptied (or closed) since we looked: try the next nearest
            distance = distance_km(origin, option.location) if origin else None
            return RoutedHold(reservation, distance)
        if attempt == 1 and not expire_due_reservations(product_ids=[product_id]):
            break
    available = total_available(stock_options(product_id=product_id))
    raise InsufficientStock(
        f"No warehouse has {quantity} unit(s) of product {product_id}; {available} in all.",
        available=available,
    )


# --- one hold's transitions ----------------------------------------------------------------


def _record(
    event_type: str, reservation: Reservation, *, now: datetime, actor: str, **payload
) -> None:
    ReservationEvent.about(reservation, event_type, actor=actor, at=now, **payload).save()


def _announce_freed(stock_key: locks.StockKey) -> None:
    """Tell listeners (the waitlist) that units came back to a stock row."""
    stock_released.send(sender=Reservation, product_id=stock_key[0], warehouse_id=stock_key[1])


def _stock_row(reservation: Reservation):
    return Inventory.objects.filter(
        product_id=reservation.product_id, warehouse_id=reservation.warehouse_id
    )


# Each writer below runs on a locked PENDING hold. It writes the hold and its event first
# and the inventory row last, so the hot row stays locked only for its UPDATE and the commit.


def _write_confirm(reservation: Reservation, *, now: datetime, actor: str, reason: str) -> None:
    reservation.status = Status.CONFIRMED
    reservation.confirmed_at = now
    reservation.updated_at = now
    reservation.save(update_fields=["status", "confirmed_at", "updated_at"])
    _record(EventType.CONFIRMED, reservation, now=now, actor=actor)
    quantity = reservation.quantity
    _stock_row(reservation).update(
        total_stock=F("total_stock") - quantity, reserved_stock=F("reserved_stock") - quantity
    )


def _write_release(reservation: Reservation, *, now: datetime, actor: str, reason: str) -> None:
    reservation.status = Status.RELEASED
    reservation.release_reason = reason
    reservation.released_at = now
    reservation.updated_at = now
    reservation.save(update_fields=["status", "release_reason", "released_at", "updated_at"])
    event_type = EventType.EXPIRED if reason == Reason.EXPIRED else EventType.RELEASED
    _record(event_type, reservation, now=now, actor=actor, reason=reason)
    _stock_row(reservation).update(reserved_stock=F("reserved_stock") - reservation.quantity)
    _announce_freed((reservation.product_id, reservation.warehouse_id))


def _write_expiry(reservation: Reservation, *, now: datetime, actor: str, reason: str) -> None:
    _write_release(reservation, now=now, actor=actor, reason=Reason.EXPIRED)


def _write_extension(reservation: Reservation, *, now: datetime, actor: str, reason: str) -> None:
    previous = reservation.expires_at
    reservation.expires_at = now + _ttl()
    reservation.extended = True
    reservation.updated_at = now
    reservation.save(update_fields=["expires_at", "extended", "updated_at"])
    _record(
        EventType.EXTENDED,
        reservation,
        now=now,
        actor=actor,
        previousExpiresAt=previous.isoformat(),
        expiresAt=reservation.expires_at.isoformat(),
    )


def _write_nothing(reservation: Reservation, *, now: datetime, actor: str, reason: str) -> None:
    return None


_WRITERS = {
    Step.CONFIRM: _write_confirm,
    Step.RELEASE: _write_release,
    Step.EXPIRE: _write_expiry,
    Step.EXTEND: _write_extension,
    Step.NOTHING: _write_nothing,
}


def _act(
    *,
    reservation_id: uuid.UUID,
    user,
    plan: Callable[[Reservation, datetime], Plan],
    actor: str | None = None,
    reason: str = Reason.CANCELLED,
) -> Reservation:
    """Lock one hold, let `plan` decide, write the step, commit, then raise any refusal."""
    now = timezone.now()
    with transaction.atomic():
        reservation = _check_access(locks.lock_reservation(reservation_id), user)
        step, refusal = plan(reservation, now)
        _WRITERS[step](reservation, now=now, actor=actor or actor_for(user), reason=reason)
    if refusal is not None:
        raise _REFUSALS[refusal]()
    return reservation


def confirm(*, reservation_id: uuid.UUID, user=None) -> Reservation:
    """Confirm a hold: its units leave stock. Confirming a confirmed hold changes nothing.

    Raise ReservationExpired if its time is up (it is released as EXPIRED first, and that is
    kept) or it was released by expiry; InvalidTransition if it was released otherwise.
    """
    return _act(reservation_id=reservation_id, user=user, plan=plan_confirm)


def release(*, reservation_id: uuid.UUID, user=None, reason: str = Reason.CANCELLED) -> Reservation:
    """Release a hold: its units go back to stock. Releasing a released hold changes nothing.

    A hold whose time is up is released with reason EXPIRED. Raise InvalidTransition if the
    hold was confirmed.
    """
    return _act(reservation_id=reservation_id, user=user, plan=plan_release, reason=reason)


def extend(*, reservation_id: uuid.UUID, user=None) -> Reservation:
    """Move a live hold's expiry RESERVATION_TTL_SECONDS past now, once.

    Raise ExtensionLimit the second time, ReservationExpired if its time is up (it is
    released first), InvalidTransition if it is confirmed or was released.
    """
    return _act(reservation_id=reservation_id, user=user, plan=plan_extend)


def expire_reservation(*, reservation_id: uuid.UUID, actor: str = "system:lazy") -> Reservation:
    """Release one hold as EXPIRED if its time is up; return it either way."""
    return _act(reservation_id=reservation_id, user=None, plan=plan_expiry, actor=actor)


def get_reservation(*, reservation_id: uuid.UUID, user) -> Reservation:
    """Return a hold `user` may see, expiring it first if its time is up."""
    reservation = _check_access(selectors.reservation_detail(reservation_id), user)
    if reservation.is_due(timezone.now()):
        return expire_reservation(reservation_id=reservation_id)
    return reservation


def list_reservations(*, user, limit: int, offset: int) -> tuple[list[Reservation], int]:
    """Return a page of the holds `user` may see, newest first, after expiring due ones."""
    expire_due_reservations(user_id=None if user.is_staff else user.pk, actor="system:lazy")
    return selectors.reservation_page(user=user, limit=limit, offset=offset)


# --- sweeps ----------------------------------------------------------------------------------


def _expire_batch(due: list[Reservation], *, now: datetime, actor: str) -> None:
    """Release locked due holds set-wise: one UPDATE, one INSERT, one UPDATE per stock row."""
    Reservation.objects.filter(pk__in=[r.pk for r in due]).update(
        status=Status.RELEASED, release_reason=Reason.EXPIRED, released_at=now, updated_at=now
    )
    ReservationEvent.objects.bulk_create(
        ReservationEvent.about(r, EventType.EXPIRED, actor=actor, at=now, reason=Reason.EXPIRED)
        for r in due
    )
    freed: dict[locks.StockKey, int] = defaultdict(int)
    for r in due:
        freed[(r.product_id, r.warehouse_id)] += r.quantity
    for row in locks.lock_stock_rows(freed):
        Inventory.objects.filter(pk=row.pk).update(
            reserved_stock=F("reserved_stock") - freed[(row.product_id, row.warehouse_id)]
        )
        _announce_freed((row.product_id, row.warehouse_id))


def expire_due_reservations(
    *,
    now: datetime | None = None,
    stock_key: locks.StockKey | None = None,
    product_ids: Collection[int] | None = None,
    user_id: int | None = None,
    batch_size: int = SWEEP_BATCH_SIZE,
    actor: str = "system:sweep",
) -> int:
    """Release every PENDING hold whose time is up, in batches; return how many.

    Each batch is one transaction over holds locked with SKIP LOCKED, so concurrent sweeps,
    lazy expiry, confirm and release never release a hold twice or wait on each other.
    `stock_key`, `product_ids` and `user_id` narrow the sweep to one stock row, some
    products or one shopper's holds.
    """
    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            due = locks.lock_due_reservations(
                now=now,
                limit=batch_size,
                stock_key=stock_key,
                product_ids=product_ids,
                user_id=user_id,
            )
            if due:
                _expire_batch(due, now=now, actor=actor)
        released += len(due)
        if len(due) < batch_size:
            return released


# --- carts -----------------------------------------------------------------------------------


class CartNotFound(ReservationNotFound):
    detail = "No such cart."


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
        productId=line.product_id,
        warehouseId=line.warehouse_id,
        available=line.available,
    )


def _write_cart(
    plan: list[PlannedHold], rows: list[Inventory], *, cart_id: uuid.UUID, user, now: datetime
) -> list[RoutedHold]:
    """Insert the cart's holds and events, then add them to the (locked) stock rows."""
    row_of = {(row.product_id, row.warehouse_id): row for row in rows}
    user_id = user.pk if user is not None and user.is_authenticated else None
    holds = [
        RoutedHold(
            Reservation(
                product=row_of[(h.product_id, h.warehouse_id)].product,
                warehouse=row_of[(h.product_id, h.warehouse_id)].warehouse,
                quantity=h.quantity,
                expires_at=now + _ttl(),
                created_at=now,
                updated_at=now,
                user_id=user_id,
                cart_id=cart_id,
            ),
            h.distance_km,
        )
        for h in plan
    ]
    Reservation.objects.bulk_create([hold.reservation for hold in holds])
    ReservationEvent.objects.bulk_create(
        ReservationEvent.about(
            hold.reservation, EventType.RESERVED, actor=actor_for(user), at=now, cartId=str(cart_id)
        )
        for hold in holds
    )
    added: dict[locks.StockKey, int] = defaultdict(int)
    for h in plan:
        added[(h.product_id, h.warehouse_id)] += h.quantity
    for key, quantity in sorted(added.items(), key=lambda item: row_of[item[0]].pk):
        Inventory.objects.filter(pk=row_of[key].pk).update(
            reserved_stock=F("reserved_stock") + quantity
        )
    return holds


def _reserve_cart_once(
    lines: list[CartLine], *, origin: Location | None, allow_split: bool, user
) -> Cart:
    cart_id, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        rows = locks.lock_stock_of_products({line.product_id for line in lines})
        _check_lines_are_stocked(lines, rows)
        plan = plan_cart(lines, _stock_by_product(rows), origin=origin, allow_split=allow_split)
        if isinstance(plan, ShortLine):
            raise _shortage_of(plan)
        holds = _write_cart(plan, rows, cart_id=cart_id, user=user, now=now)
    return Cart(cart_id, holds)


def reserve_cart(
    *, lines: list[CartLine], origin: Location | None = None, allow_split: bool = False, user=None
) -> Cart:
    """Hold every line of a cart, or none of them.

    Lines for the same product and warehouse are merged. Lines without a warehouse are routed
    to the nearest one that covers them, or with `allow_split` split over the fewest, nearest
    warehouses that together can. All the products' stock rows are locked at once, in primary
    key order, so carts never deadlock each other whatever order their lines come in. Raise
    InsufficientStock naming the first short line (after releasing the cart's due holds and
    trying once more), or StockNotFound; nothing is held then.
    """
    merged = merge_lines(lines)
    for line in merged:
        check_quantity(line.quantity)
    try:
        return _reserve_cart_once(merged, origin=origin, allow_split=allow_split, user=user)
    except InsufficientStock:
        if not expire_due_reservations(product_ids={line.product_id for line in merged}):
            raise
    return _reserve_cart_once(merged, origin=origin, allow_split=allow_split, user=user)


def _act_on_cart(
    *,
    cart_id: uuid.UUID,
    user,
    plan: Callable[[Reservation, datetime], Plan],
    reason: str = Reason.CANCELLED,
) -> list[Reservation]:
    """Lock a cart's holds, then their stock rows, decide for all, write, commit, refuse.

    Any INVALID refusal writes nothing. Otherwise due holds are expired; if any hold is
    expired the rest are left as they are and the cart is refused as expired after commit.
    """
    now = timezone.now()
    with transaction.atomic():
        reservations = locks.lock_cart(cart_id)
        if not reservations:
            raise CartNotFound()
        for reservation in reservations:
            _check_access(reservation, user)
        locks.lock_stock_rows((r.product_id, r.warehouse_id) for r in reservations)
        plans = [(reservation, *plan(reservation, now)) for reservation in reservations]
        refusals = {refusal for _, _, refusal in plans if refusal is not None}
        if Refusal.INVALID in refusals:
            raise InvalidTransition("A hold in the cart cannot make that change.")
        expired = Refusal.EXPIRED in refusals
        actor = actor_for(user)
        for reservation, step, _ in plans:
            if expired and step != Step.EXPIRE:
                continue
            _WRITERS[step](reservation, now=now, actor=actor, reason=reason)
    if expired:
        raise ReservationExpired("A hold in the cart expired; its units went back to stock.")
    return reservations


def confirm_cart(*, cart_id: uuid.UUID, user=None) -> list[Reservation]:
    """Confirm every hold of a cart in one transaction (200 again if already confirmed).

    Raise ReservationExpired if any hold's time is up (due ones are released, the others
    stay pending), InvalidTransition if any was released otherwise; nothing is confirmed then.
    """
    return _act_on_cart(cart_id=cart_id, user=user, plan=plan_confirm)


def release_cart(*, cart_id: uuid.UUID, user=None) -> list[Reservation]:
    """Release every hold of a cart in one transaction (due ones as EXPIRED).

    Raise InvalidTransition, releasing nothing, if any hold was confirmed.
    """
    return _act_on_cart(cart_id=cart_id, user=user, plan=plan_release)


# --- repair ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repair:
    inventory_id: int
    before: int
    after: int


def repair_reserved_stock(*, inventory_id: int, actor: str = "system:repair") -> Repair | None:
    """Recompute one row's reserved_stock from its PENDING holds, under the row's lock.

    Holding the row lock keeps every reserve, confirm and release of that row out until
    commit, so the sum read is the truth. Return None if the counter was right. Record a
    STOCK_REPAIRED event otherwise.
    """
    with transaction.atomic():
        row = Inventory.objects.filter(pk=inventory_id).values("product_id", "warehouse_id").get()
        (locked,) = locks.lock_stock_rows([(row["product_id"], row["warehouse_id"])])
        pending = (
            Reservation.objects.pending()
            .filter(product_id=locked.product_id, warehouse_id=locked.warehouse_id)
            .aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        if pending == locked.reserved_stock:
            return None
        before = locked.reserved_stock
        Inventory.objects.filter(pk=locked.pk).update(reserved_stock=pending)
        ReservationEvent.objects.create(
            type=EventType.STOCK_REPAIRED,
            product_id=locked.product_id,
            warehouse_id=locked.warehouse_id,
            quantity=pending - before,
            actor=actor,
            payload={"inventoryId": locked.pk, "before": before, "after": pending},
            created_at=timezone.now(),
        )
    return Repair(inventory_id=locked.pk, before=before, after=pending)
