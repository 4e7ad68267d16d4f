"""Every lock on reservations and waitlist entries, and the one-statement hold, live here.

Global lock order, kept by every transaction that locks more than one row, so that no two
transactions can wait on each other in a cycle (no deadlocks):

    1. reservations, by primary key (this module);
    2. then inventory rows, by primary key (inventory.locks);
    3. then waitlist entries, oldest first (this module).

Reservations come first because the expiry sweep must take due holds with SKIP LOCKED
before it knows which stock rows to give units back to. A reserve locks only its inventory
row (the new reservation row it inserts is invisible to everyone else until commit).
Waitlist promotion locks its stock row before the entries, so promotions of one row run one
at a time; it locks no reservation, and the holds it creates are new rows nobody else can
see. It cannot deadlock with a sweep: the sweep locks due reservations with SKIP LOCKED
first (never waiting on them) and then stock rows in pk order, and promotion waits only for
that one stock row, whose holder never waits for promotion's entries. Cancelling an entry
locks only that entry.

All of this runs at READ COMMITTED: a conditional UPDATE that waited for another
transaction's lock re-checks its WHERE clause against the committed row, so two shoppers
racing for the last unit cannot both pass `total_stock - reserved_stock >= quantity`.
"""

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction

from inventory import locks as stock_locks
from inventory.locks import StockKey
from inventory.models import Inventory, Product
from reservations import events
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from warehouses.models import Warehouse


@dataclass(frozen=True)
class Hold:
    """What a successful hold wrote, with the product and warehouse fields the API shows."""

    reservation_id: uuid.UUID
    product_id: int
    warehouse_id: int
    quantity: int
    created_at: datetime
    expires_at: datetime
    user_id: int | None
    guest_id: uuid.UUID | None
    product_name: str
    product_price: Decimal
    product_image: str
    product_category: str
    warehouse_name: str
    warehouse_city: str
    warehouse_location: str


def _table(model) -> str:
    return model._meta.db_table


def _column(model, field: str) -> str:
    return model._meta.get_field(field).column


def _hold_sql() -> str:
    """Build the hold statement with table and column names taken from the models."""
    stock, product, warehouse = _table(Inventory), _table(Product), _table(Warehouse)
    reservation, event = _table(Reservation), _table(ReservationEvent)
    r_columns = ", ".join(
        _column(Reservation, name)
        for name in (
            "id", "product", "warehouse", "quantity", "status", "expires_at", "created_at",
            "updated_at", "extended", "user", "guest_id",
        )
    )  # fmt: skip
    e_columns = ", ".join(
        _column(ReservationEvent, name)
        for name in (
            "type", "product", "warehouse", "quantity", "reservation", "actor", "payload",
            "created_at",
        )
    )  # fmt: skip
    reserved, total = _column(Inventory, "reserved_stock"), _column(Inventory, "total_stock")
    i_product, i_warehouse = _column(Inventory, "product"), _column(Inventory, "warehouse")
    return f"""
WITH held AS (
    UPDATE {stock} AS i
       SET {reserved} = i.{reserved} + %(quantity)s
      FROM {product} AS p, {warehouse} AS w
     WHERE i.{i_product} = %(product_id)s
       AND i.{i_warehouse} = %(warehouse_id)s
       AND p.id = i.{i_product} AND p.active
       AND w.id = i.{i_warehouse} AND w.active
       AND i.{total} - i.{reserved} >= %(quantity)s
 RETURNING p.name, p.price, p.image, p.category, w.name, w.city, w.location
), reservation AS (
    INSERT INTO {reservation} ({r_columns})
    SELECT %(id)s, %(product_id)s, %(warehouse_id)s, %(quantity)s, %(pending)s,
           %(expires_at)s, %(now)s, %(now)s, false, %(user_id)s, %(guest_id)s
      FROM held
 RETURNING id
), event AS (
    INSERT INTO {event} ({e_columns})
    SELECT %(reserved)s, %(product_id)s, %(warehouse_id)s, %(quantity)s, id, %(actor)s,
           %(payload)s::jsonb, %(now)s
      FROM reservation
)
SELECT * FROM held
"""


# One statement, one round trip: the conditional UPDATE takes the hot row's lock and holds
# it only until this statement's own commit; the reservation and its RESERVED event are
# inserted only when the UPDATE matched (all or nothing, invariants 1-3 intact). The
# sellable rule (active product, active warehouse) is InventoryQuerySet.sellable()'s.
HOLD_SQL = _hold_sql()


def hold_stock(
    *,
    product_id: int,
    warehouse_id: int,
    quantity: int,
    now: datetime,
    expires_at: datetime,
    actor: str,
    user_id: int | None = None,
    guest_id: uuid.UUID | None = None,
    payload: dict | None = None,
) -> Hold | None:
    """Hold `quantity` units and write the reservation and its RESERVED event.

    Return None, writing nothing, when the row is missing, inactive or short.
    """
    params = {
        "id": uuid.uuid4(),
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "quantity": quantity,
        "now": now,
        "expires_at": expires_at,
        "user_id": user_id,
        "guest_id": guest_id,
        "actor": actor,
        "payload": json.dumps(payload or {}),
        "pending": Reservation.Status.PENDING,
        "reserved": ReservationEvent.Type.RESERVED,
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(HOLD_SQL, params)
            row = cursor.fetchone()
    else:
        row = _hold_stock_portably(params)
    if row is None:
        return None
    product_name, price, image, category, warehouse_name, city, location = row
    return Hold(
        reservation_id=params["id"],
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        created_at=now,
        expires_at=expires_at,
        user_id=user_id,
        guest_id=guest_id,
        product_name=product_name,
        product_price=Decimal(price),
        product_image=image,
        product_category=category,
        warehouse_name=warehouse_name,
        warehouse_city=city,
        warehouse_location=location,
    )


def _hold_stock_portably(params: dict) -> tuple | None:
    """Do what HOLD_SQL does with the ORM, for SQLite (whose transactions are IMMEDIATE)."""
    key = (params["product_id"], params["warehouse_id"])
    with transaction.atomic():
        if not stock_locks.hold_if_available(key, params["quantity"]):
            return None
        reservation = Reservation.objects.create(
            id=params["id"],
            product_id=params["product_id"],
            warehouse_id=params["warehouse_id"],
            quantity=params["quantity"],
            expires_at=params["expires_at"],
            created_at=params["now"],
            updated_at=params["now"],
            user_id=params["user_id"],
            guest_id=params["guest_id"],
        )
        events.record(
            [
                events.about(
                    reservation,
                    ReservationEvent.Type.RESERVED,
                    actor=params["actor"],
                    at=params["now"],
                    **json.loads(params["payload"]),
                )
            ]
        )
    product = Product.objects.values_list("name", "price", "image", "category").get(
        pk=params["product_id"]
    )
    warehouse = Warehouse.objects.values_list("name", "city", "location").get(
        pk=params["warehouse_id"]
    )
    return (*product, *warehouse)


def lock_reservation(reservation_id: uuid.UUID) -> Reservation | None:
    """Lock one reservation row (not its product or warehouse) and return it, or None."""
    return (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("product", "warehouse")
        .filter(pk=reservation_id)
        .first()
    )


def lock_due_reservations(
    *,
    now: datetime,
    limit: int,
    stock_key: StockKey | None = None,
    product_ids: Collection[int] | None = None,
    user_id: int | None = None,
    guest_id: uuid.UUID | None = None,
    wait: bool = False,
) -> list[Reservation]:
    """Lock up to `limit` due PENDING holds in pk order, skipping rows others have locked.

    SKIP LOCKED lets sweeps, lazy expiry, confirm and release run side by side: a hold that
    another transaction is changing is left to it, never released twice and never waited on.
    With `wait`, wait for those transactions instead: when they commit, PostgreSQL re-checks
    the rows and returns only the ones still due and PENDING. Wait only while the
    transaction holds no stock-row lock (reservations come before inventory rows).
    """
    due = Reservation.objects.due(now)
    if stock_key is not None:
        due = due.filter(product_id=stock_key[0], warehouse_id=stock_key[1])
    if product_ids is not None:
        due = due.filter(product_id__in=product_ids)
    if user_id is not None:
        due = due.filter(user_id=user_id)
    if guest_id is not None:
        due = due.filter(guest_id=guest_id)
    return list(due.order_by("pk").select_for_update(skip_locked=not wait)[:limit])


def lock_waitlist_entry(entry_id: uuid.UUID) -> WaitlistEntry | None:
    """Lock one waitlist entry and return it, or None."""
    return WaitlistEntry.objects.select_for_update().filter(pk=entry_id).first()


def lock_waiting_entries(*, product_id: int, warehouse_id: int) -> list[WaitlistEntry]:
    """Lock a stock row's WAITING entries, oldest first (call with the stock row locked)."""
    return list(
        WaitlistEntry.objects.filter(
            product_id=product_id, warehouse_id=warehouse_id, status=WaitlistEntry.Status.WAITING
        )
        .order_by("created_at", "pk")
        .select_for_update(of=("self",))
    )


def lock_cart(cart_id: uuid.UUID) -> list[Reservation]:
    """Lock every reservation of a cart in pk order and return them (empty if none)."""
    return list(
        Reservation.objects.filter(cart_id=cart_id)
        .select_related("product", "warehouse")
        .order_by("pk")
        .select_for_update(of=("self",))
    )
