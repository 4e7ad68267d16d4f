"""Holding units: `reserve` in a given warehouse, `reserve_nearest` in the nearest that has them."""

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from core.errors import StockdError
from core.serving.request_threads import off_loop
from core.serving.requestid import current_request_id
from inventory import selectors
from inventory.errors import StockNotFound
from inventory.locks import StockKey
from inventory.models import Product, image_url
from reservations import access, coalescer, locks
from reservations.errors import InsufficientStock
from reservations.models import Reservation
from reservations.policy import check_quantity, hold_ttl
from reservations.services import ruled, sweeps
from sales import selectors as sale_rules
from sales.models import WEB
from warehouses.models import Warehouse
from warehouses.routing import Location, StockOption, distance_km, rank_warehouses, total_available


@dataclass(frozen=True)
class RoutedHold:
    """A hold (a Reservation, or NewHold from the async path) and, when the shopper's
    location was known, its warehouse's distance."""

    reservation: "Reservation | NewHold"
    distance_km: float | None = None


@dataclass(frozen=True, slots=True)
class HeldProduct:
    id: int
    name: str
    price: Decimal
    image: str
    category: str

    @property
    def image_url(self) -> str | None:
        """As Product.image_url, worked out only when an answer shows it."""
        return image_url(self.image)


@dataclass(frozen=True, slots=True)
class HeldWarehouse:
    id: int
    name: str
    city: str
    location: str


@dataclass(frozen=True, slots=True)
class NewHold:
    """A hold the coalescer just wrote, with the attributes reservation_body() reads of a
    Reservation: plain values, so the hot path builds no model objects."""

    id: uuid.UUID
    product_id: int
    warehouse_id: int
    quantity: int
    expires_at: datetime
    created_at: datetime
    user_id: int | None
    guest_id: uuid.UUID | None
    product: HeldProduct
    warehouse: HeldWarehouse
    channel: str = WEB
    hold_seconds: int | None = None
    max_extensions: int = 1
    status: str = Reservation.Status.PENDING
    kind: str = Reservation.Kind.HOLD
    release_reason: None = None
    extensions: int = 0
    extended: bool = False
    cart_id: None = None
    confirmed_at: None = None
    released_at: None = None

    @property
    def updated_at(self) -> datetime:
        return self.created_at

    @classmethod
    def of(cls, hold: locks.Hold) -> "NewHold":
        return cls(
            id=hold.reservation_id,
            product_id=hold.product_id,
            warehouse_id=hold.warehouse_id,
            quantity=hold.quantity,
            expires_at=hold.expires_at,
            created_at=hold.created_at,
            user_id=hold.user_id,
            guest_id=hold.guest_id,
            channel=hold.channel,
            hold_seconds=hold.hold_seconds,
            max_extensions=hold.max_extensions,
            product=HeldProduct(
                id=hold.product_id,
                name=hold.product_name,
                price=hold.product_price,
                image=hold.product_image,
                category=hold.product_category,
            ),
            warehouse=HeldWarehouse(
                id=hold.warehouse_id,
                name=hold.warehouse_name,
                city=hold.warehouse_city,
                location=hold.warehouse_location,
            ),
        )


def reservation_from_hold(hold: locks.Hold) -> Reservation:
    """Build (not save) the Reservation a one-statement hold wrote, product and warehouse too
    (NewHold's values: HeldProduct and HeldWarehouse name the models' own fields)."""
    new = NewHold.of(hold)
    return Reservation(
        id=new.id,
        product=Product(**asdict(new.product)),
        warehouse=Warehouse(**asdict(new.warehouse)),
        quantity=new.quantity,
        status=new.status,
        expires_at=new.expires_at,
        created_at=new.created_at,
        updated_at=new.updated_at,
        user_id=new.user_id,
        guest_id=new.guest_id,
        channel=new.channel,
        hold_seconds=new.hold_seconds,
        max_extensions=new.max_extensions,
    )


def _hold_now(request: coalescer.HoldRequest) -> locks.Hold | InsufficientStock | None:
    """Try one hold now on the caller's connection, with a fresh expiry; None (nothing
    written) if it does not fit. A product that follows sale rules is held by the ruled path,
    which answers its own InsufficientStock (the channel's figure) when short, and raises any
    other refusal (not on sale, limit reached ...)."""
    now = timezone.now()
    hold = locks.hold_stock(
        product_id=request.product_id,
        warehouse_id=request.warehouse_id,
        quantity=request.quantity,
        now=now,
        expires_at=now + hold_ttl(),
        actor=request.actor,
        user_id=request.user_id,
        guest_id=request.guest_id,
        payload=request.payload,
        channel=request.channel,
    )
    if hold is not None or not sale_rules.has_rules(request.product_id):
        return hold
    [outcome] = ruled.hold_batch([request], now=now)
    if isinstance(outcome, StockdError) and not isinstance(outcome, InsufficientStock):
        raise outcome
    return outcome


def _shortage(product_id: int, warehouse_id: int) -> StockdError:
    """Explain a failed hold: the stock row is missing or inactive, or it is short."""
    available = selectors.available_units(product_id=product_id, warehouse_id=warehouse_id)
    return _stock_error((product_id, warehouse_id), available)


def may_wait_for_sweeps(released: int) -> bool:
    """Say whether a request may now wait for other transactions' due-hold sweeps.

    Waiting locks reservations, which come before inventory rows in the global lock order,
    so it is safe only while this transaction holds no stock row: always outside a
    transaction (every sweep so far has committed), and inside one (an Idempotency-Key
    request) only when this request's own sweep released, hence locked, nothing.
    """
    return not connection.in_atomic_block or not released


def _reserve(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user,
    guest_id: uuid.UUID | None,
    wait_for_sweeps: bool,
    sweep: bool = True,
    channel: str = WEB,
) -> Reservation:
    attempt = _hold_request(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        user=user,
        guest_id=guest_id,
        channel=channel,
    )
    key = attempt.key
    hold = _hold_now(attempt)
    if not isinstance(hold, locks.Hold) and sweep:
        released = sweeps.expire_due_reservations(stock_key=key)
        if released:
            hold = _hold_now(attempt)
        if not isinstance(hold, locks.Hold) and wait_for_sweeps and may_wait_for_sweeps(released):
            # SKIP LOCKED passed over due holds that another request is releasing right now;
            # wait for it to commit, then look again. The retry is unconditional: any check
            # made after the failed hold could miss a release that committed in between.
            sweeps.expire_due_reservations(stock_key=key, wait=True)
            hold = _hold_now(attempt)
    if isinstance(hold, InsufficientStock):
        raise hold
    if hold is None:
        raise _shortage(product_id, warehouse_id)
    return reservation_from_hold(hold)


def _coalesces() -> bool:
    """Say whether a hold may join a coalesced batch: PostgreSQL, and no caller transaction.

    A batch commits on its own connection, so a hold inside the caller's transaction (an
    Idempotency-Key request, a cart, a promotion) runs the one-hold statement instead.
    """
    return (
        settings.HOLD_COALESCING
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def _hold_request(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user,
    guest_id: uuid.UUID | None,
    channel: str = WEB,
) -> coalescer.HoldRequest:
    check_quantity(quantity)
    request_id = current_request_id()
    return coalescer.HoldRequest(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        actor=access.actor_for(user),
        user_id=access.owner_id(user),
        guest_id=None if access.owner_id(user) else guest_id,
        payload={"requestId": request_id} if request_id else None,
        channel=channel,
    )


def _release_due_holds(key: StockKey) -> None:
    """Release a row's due holds, waiting for other sweeps of them (no lock is held here)."""
    try:
        sweeps.expire_due_reservations(stock_key=key, wait=True)
    finally:
        connections.close_all()  # this worker thread's connection goes back to the pool


async def _hold_coalesced(request: coalescer.HoldRequest) -> locks.Hold:
    """Hold through the coalescer (run on its loop); refuse a short row from a plain read.

    A row the last batch or read left short of this request is read first (no lock, no
    wait) and refused at once when it is still short, so after a sale ends sold-out answers never
    queue for the row. Before a sold-out answer the row's due holds are released, at most once per
    row per SOLD_OUT_SWEEP_INTERVAL_MS in this process (requests refused meanwhile share that
    sweep); the hold is tried again only when a read then says it fits, or when the read found
    the product following sale rules (the hold statement refuses those: the next batch takes
    the ruled path). A rule's refusal (not on sale, limit reached ...) is raised as it is.
    """
    holds_ = coalescer.get()
    if holds_.looks_short(request):
        available = await _available_after_sweep(holds_, request)
        if not _fits(request, available):
            raise _stock_error(request.key, available)
    outcome = await holds_.hold(request)
    if _short(outcome):
        available = await _available_after_sweep(holds_, request)
        newly_ruled = isinstance(outcome, coalescer.Refused) and holds_.follows_rules(request.key)
        if _fits(request, available) or newly_ruled:
            outcome = await holds_.hold(request)
        elif isinstance(outcome, coalescer.Refused):
            raise _stock_error(request.key, available)
    if isinstance(outcome, StockdError):
        raise outcome
    if isinstance(outcome, coalescer.Refused):
        raise _stock_error(request.key, await holds_.available(request.key))
    return outcome


def _short(outcome) -> bool:
    """Refused for want of units: by the hold statement, or by the ruled path."""
    return isinstance(outcome, coalescer.Refused | InsufficientStock)


def _fits(request: coalescer.HoldRequest, available: int | None) -> bool:
    return available is not None and available >= request.quantity


async def _available_after_sweep(
    holds_: coalescer.HoldCoalescer, request: coalescer.HoldRequest
) -> int | None:
    """Read what the row has; if short, release its due holds (when due) and read again."""
    available = await holds_.available(request.key)
    if not _fits(request, available) and await holds_.sweep_once(
        request.key, sync_to_async(_release_due_holds, thread_sensitive=False)
    ):
        available = await holds_.available(request.key)
    return available


def _stock_error(key: StockKey, available: int | None) -> StockdError:
    """The error of a hold refused on stock row `key` with `available` units (None: no row)."""
    product_id, warehouse_id = key
    if available is None:
        return StockNotFound.of_row(product_id, warehouse_id)
    return InsufficientStock(
        f"Only {available} unit(s) available in warehouse {warehouse_id}.",
        available=available,
    )


async def areserve(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user=None,
    guest_id: uuid.UUID | None = None,
    channel: str = WEB,
) -> NewHold:
    """`reserve` for async callers (the reserve endpoint under ASGI): a coalesced hold, as
    plain values (NewHold) rather than a model.

    Resolve `user` first (`await request.auser()`): nothing here touches the session.
    """
    request = _hold_request(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        user=user,
        guest_id=guest_id,
        channel=channel,
    )
    return NewHold.of(await coalescer.get().run(_hold_coalesced(request)))


def reserve(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user=None,
    guest_id: uuid.UUID | None = None,
    channel: str = WEB,
) -> Reservation:
    """Hold `quantity` units of a product in a warehouse for RESERVATION_TTL_SECONDS.

    The hold belongs to `user` when signed in, else to the guest session `guest_id`.

    Outside a transaction on PostgreSQL the hold joins the coalescer's batch for its row
    (see _hold_coalesced). Inside one it is one statement on the caller's connection: if the
    row is short, release its due holds (time up but not yet swept) and try once more; if
    other requests are releasing them, wait for those to commit and try once more. If it is
    still short, raise InsufficientStock with the units available; if the product or
    warehouse is unknown or inactive, raise StockNotFound. Nothing is written when it fails.
    """
    if _coalesces():
        request = _hold_request(
            product_id=product_id,
            warehouse_id=warehouse_id,
            quantity=quantity,
            user=user,
            guest_id=guest_id,
            channel=channel,
        )
        return reservation_from_hold(coalescer.get().run_blocking(_hold_coalesced(request)))
    return _reserve(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        user=user,
        guest_id=guest_id,
        wait_for_sweeps=True,
        channel=channel,
    )


def _nearest_first(
    product_id: int, quantity: int, origin: Location | None, options: list[StockOption]
) -> list[StockOption]:
    """The product's stock rows that fit `quantity`, most preferred first."""
    if not options:
        raise StockNotFound(f"Product {product_id} is not stocked in any active warehouse.")
    return [o for o in rank_warehouses(options, origin) if o.available >= quantity]


def _routed(hold, option: StockOption, origin: Location | None) -> RoutedHold:
    return RoutedHold(hold, distance_km(origin, option.location) if origin else None)


def _product_swept(product_id: int) -> bool:
    """Release the product's due holds everywhere; say whether any were released."""
    return bool(sweeps.expire_due_reservations(product_ids=[product_id]))


def _none_fits(product_id: int, quantity: int, options: list[StockOption]) -> InsufficientStock:
    available = total_available(options)
    return InsufficientStock(
        f"No warehouse has {quantity} unit(s) of product {product_id}; {available} in all.",
        available=available,
    )


# A routed hold tries the nearest warehouse that fits, then the next when another shopper
# emptied it first; when none fits, it releases the product's due holds and looks once more.
_LOOKS = (1, 2)


def reserve_nearest(
    *,
    product_id: int,
    quantity: int,
    origin: Location | None = None,
    user=None,
    guest_id: uuid.UUID | None = None,
    channel: str = WEB,
) -> RoutedHold:
    """Hold `quantity` units in the nearest active warehouse that has them all.

    Without `origin`, prefer the warehouse with the most available. When another shopper
    empties the chosen warehouse first, fall through to the next one: each attempt is its own
    one-row hold, so no transaction ever holds one warehouse while waiting for another
    (no deadlock). Outside a transaction each attempt joins the coalescer's batch for its row,
    as `reserve` does. Raise InsufficientStock with the total available only when no
    warehouse can cover it (after releasing the product's due holds and looking once more).
    """
    check_quantity(quantity)
    # Inside a transaction (an Idempotency-Key request) a warehouse's sweep would keep its
    # stock row locked while the next warehouse's row is held, rows in distance order, not
    # pk order: sweep only outside one. Inside one, a failed hold locks nothing, and the
    # product-wide sweep below locks its rows in pk order before anything is held.
    outside_transaction = not connection.in_atomic_block
    hold_in = (
        reserve
        if _coalesces()
        else partial(_reserve, wait_for_sweeps=outside_transaction, sweep=outside_transaction)
    )
    shopper = {
        "product_id": product_id,
        "quantity": quantity,
        "user": user,
        "guest_id": guest_id,
        "channel": channel,
    }
    for look in _LOOKS:
        options = selectors.stock_options(product_id=product_id)
        for option in _nearest_first(product_id, quantity, origin, options):
            try:
                return _routed(hold_in(warehouse_id=option.warehouse_id, **shopper), option, origin)
            except (InsufficientStock, StockNotFound):
                continue  # emptied (or closed) since we looked: try the next nearest
        if look == 1 and not _product_swept(product_id):
            break
    raise _none_fits(product_id, quantity, selectors.stock_options(product_id=product_id))


async def areserve_nearest(
    *,
    product_id: int,
    quantity: int,
    origin: Location | None = None,
    user=None,
    guest_id: uuid.UUID | None = None,
    channel: str = WEB,
) -> RoutedHold:
    """`reserve_nearest` for async callers (the lean reserve path): the product's rows are
    read on the coalescer's pool (shared by shoppers asking together), each attempt awaits the
    coalescer (`areserve`), and only the sweep between looks runs off the loop. The hold is
    plain values (NewHold), as `areserve` returns."""
    check_quantity(quantity)
    holds_ = coalescer.get()
    shopper = {
        "product_id": product_id,
        "quantity": quantity,
        "user": user,
        "guest_id": guest_id,
        "channel": channel,
    }
    for look in _LOOKS:
        options = await holds_.run(holds_.stock_options(product_id))
        for option in _nearest_first(product_id, quantity, origin, options):
            try:
                hold = await areserve(warehouse_id=option.warehouse_id, **shopper)
            except (InsufficientStock, StockNotFound):
                continue  # emptied (or closed) since we looked: try the next nearest
            return _routed(hold, option, origin)
        if look == 1 and not await off_loop(_product_swept)(product_id):
            break
    raise _none_fits(product_id, quantity, await holds_.run(holds_.stock_options(product_id)))
