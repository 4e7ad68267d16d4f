"""Holding units: `reserve` in a given warehouse, `reserve_nearest` in the nearest that has them."""

import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from core.errors import StockdError
from inventory import selectors
from inventory.errors import StockNotFound
from inventory.models import Product
from reservations import access, locks
from reservations.errors import InsufficientStock
from reservations.models import Reservation
from reservations.policy import check_quantity, hold_ttl
from reservations.services import sweeps
from warehouses.models import Warehouse
from warehouses.routing import Location, StockOption, distance_km, rank_warehouses, total_available


@dataclass(frozen=True)
class RoutedHold:
    """A hold and, when the shopper's location was known, its warehouse's distance."""

    reservation: Reservation
    distance_km: float | None = None


def reservation_from_hold(hold: locks.Hold) -> Reservation:
    """Build (not save) the Reservation a one-statement hold wrote, product and warehouse too."""
    return Reservation(
        id=hold.reservation_id,
        product=Product(
            id=hold.product_id,
            name=hold.product_name,
            price=hold.product_price,
            image=hold.product_image,
            category=hold.product_category,
        ),
        warehouse=Warehouse(
            id=hold.warehouse_id,
            name=hold.warehouse_name,
            city=hold.warehouse_city,
            location=hold.warehouse_location,
        ),
        quantity=hold.quantity,
        status=Reservation.Status.PENDING,
        expires_at=hold.expires_at,
        created_at=hold.created_at,
        updated_at=hold.created_at,
        extended=False,
        user_id=hold.user_id,
        guest_id=hold.guest_id,
    )


def _hold_now(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    actor: str,
    user_id: int | None,
    guest_id: uuid.UUID | None,
) -> locks.Hold | None:
    """Try one hold now, with a fresh expiry; None (nothing written) if it does not fit."""
    now = timezone.now()
    return locks.hold_stock(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        now=now,
        expires_at=now + hold_ttl(),
        actor=actor,
        user_id=user_id,
        guest_id=guest_id,
    )


def _shortage(product_id: int, warehouse_id: int) -> StockdError:
    """Explain a failed hold: the stock row is missing or inactive, or it is short."""
    available = selectors.available_units(product_id=product_id, warehouse_id=warehouse_id)
    if available is None:
        return StockNotFound(f"Product {product_id} is not stocked in warehouse {warehouse_id}.")
    return InsufficientStock(
        f"Only {available} unit(s) available in warehouse {warehouse_id}.",
        available=available,
    )


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
) -> Reservation:
    check_quantity(quantity)
    attempt = {
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "quantity": quantity,
        "actor": access.actor_for(user),
        "user_id": access.owner_id(user),
        "guest_id": None if access.owner_id(user) else guest_id,
    }
    key = (product_id, warehouse_id)
    hold = _hold_now(**attempt)
    if hold is None:
        released = sweeps.expire_due_reservations(stock_key=key)
        if released:
            hold = _hold_now(**attempt)
        if hold is None and wait_for_sweeps and may_wait_for_sweeps(released):
            # SKIP LOCKED passed over due holds that another request is releasing right now;
            # wait for it to commit, then look again. The retry is unconditional: any check
            # made after the failed hold could miss a release that committed in between.
            sweeps.expire_due_reservations(stock_key=key, wait=True)
            hold = _hold_now(**attempt)
    if hold is None:
        raise _shortage(product_id, warehouse_id)
    return reservation_from_hold(hold)


def reserve(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    user=None,
    guest_id: uuid.UUID | None = None,
) -> Reservation:
    """Hold `quantity` units of a product in a warehouse for RESERVATION_TTL_SECONDS.

    The hold belongs to `user` when signed in, else to the guest session `guest_id`.

    On PostgreSQL the hold is one statement. If the row is short, release its due holds (time
    up but not yet swept) and try once more; if other requests are releasing them, wait for
    those to commit and try once more. If it is still short, raise InsufficientStock with the
    units available; if the product or warehouse is unknown or inactive, raise
    StockNotFound. Nothing is written when it fails.
    """
    return _reserve(
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        user=user,
        guest_id=guest_id,
        wait_for_sweeps=True,
    )


def _nearest_first(product_id: int, quantity: int, origin: Location | None) -> list[StockOption]:
    options = selectors.stock_options(product_id=product_id)
    if not options:
        raise StockNotFound(f"Product {product_id} is not stocked in any active warehouse.")
    return [o for o in rank_warehouses(options, origin) if o.available >= quantity]


def reserve_nearest(
    *,
    product_id: int,
    quantity: int,
    origin: Location | None = None,
    user=None,
    guest_id: uuid.UUID | None = None,
) -> RoutedHold:
    """Hold `quantity` units in the nearest active warehouse that has them all.

    Without `origin`, prefer the warehouse with the most available. When another shopper
    empties the chosen warehouse first, fall through to the next one: each attempt is its own
    one-row statement, so no transaction ever holds one warehouse while waiting for another
    (no deadlock). Raise InsufficientStock with the total available only when no warehouse
    can cover it (after releasing the product's due holds and looking once more).
    """
    check_quantity(quantity)
    # Inside a transaction an earlier warehouse's sweep may still hold its stock row, and
    # waiting on due holds then would break the lock order: only wait outside one.
    wait_for_sweeps = not connection.in_atomic_block
    for attempt in (1, 2):
        for option in _nearest_first(product_id, quantity, origin):
            try:
                reservation = _reserve(
                    product_id=product_id,
                    warehouse_id=option.warehouse_id,
                    quantity=quantity,
                    user=user,
                    guest_id=guest_id,
                    wait_for_sweeps=wait_for_sweeps,
                )
            except (InsufficientStock, StockNotFound):
                continue  # emptied (or closed) since we looked: try the next nearest
            distance = distance_km(origin, option.location) if origin else None
            return RoutedHold(reservation, distance)
        if attempt == 1 and not sweeps.expire_due_reservations(product_ids=[product_id]):
            break
    available = total_available(selectors.stock_options(product_id=product_id))
    raise InsufficientStock(
        f"No warehouse has {quantity} unit(s) of product {product_id}; {available} in all.",
        available=available,
    )
