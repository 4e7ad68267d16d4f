"""Every lock on reservations and waitlist entries, and the one-statement hold, live here.

Global lock order, kept by every transaction that locks more than one row, so that no two
transactions can wait on each other in a cycle (no deadlocks):

    1. reservations, by primary key (this module);
    2. then inventory rows, by primary key (inventory.locks);
    3. then waitlist entries, oldest first (this module);
    4. then tallies (a customer's limit, a channel's quota), by scope (sales.tallies).

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
racing for the last unit cannot both pass `available >= quantity`.
"""

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db import connection, transaction

from core.serving.requestid import current_request_id
from idempotency.context import current_idempotency_key
from inventory import locks as stock_locks
from inventory.locks import StockKey
from inventory.models import STATES, Inventory, LedgerEntry, Product
from reservations import events
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from sales import selectors as sale_rules
from sales.models import WEB, Allocation, SalePolicy, Tally
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
    channel: str = WEB
    hold_seconds: int | None = None
    max_extensions: int = 1

    @classmethod
    def written(cls, row: tuple, **hold) -> "Hold":
        """The hold a statement wrote, with the product and warehouse fields of its `row`
        (name, price, image, category; name, city, location, as the hold statements return)."""
        product_name, price, image, category, warehouse_name, city, location = row
        return cls(
            **hold,
            product_name=product_name,
            product_price=Decimal(price),
            product_image=image,
            product_category=category,
            warehouse_name=warehouse_name,
            warehouse_city=city,
            warehouse_location=location,
        )


def _table(model) -> str:
    return model._meta.db_table


def _column(model, field: str) -> str:
    return model._meta.get_field(field).column


# The RESERVED events of the batch statements' admitted requests (`admitted`), one per
# reservation they inserted (`reservation`).
_ADMITTED_EVENTS = """), event AS (
    INSERT INTO {event} ({e_columns})
    SELECT %(reserved)s, %(product_id)s, %(warehouse_id)s, a.quantity, a.id, a.actor,
           a.payload::jsonb, %(now)s
      FROM admitted AS a JOIN reservation USING (id)
"""


def _names() -> dict[str, str]:
    """Table and column names of the hold statements, taken from the models."""
    r_columns = ", ".join(
        _column(Reservation, name)
        for name in (
            "id", "product", "warehouse", "quantity", "status", "expires_at", "created_at",
            "updated_at", "user", "guest_id", "channel", "hold_seconds",
        )
    )  # fmt: skip
    e_columns = ", ".join(
        _column(ReservationEvent, name)
        for name in (
            "type", "product", "warehouse", "quantity", "reservation", "actor", "payload",
            "created_at",
        )
    )  # fmt: skip
    l_columns = ", ".join(
        [
            _column(LedgerEntry, name)
            for name in ("stock", "sequence", "reason", "actor", "reference", "request_id",
                         "idempotency_key", "created_at")
        ]
        + [_column(LedgerEntry, state) for state in STATES]
        + [_column(LedgerEntry, f"{state}_after") for state in STATES]
    )  # fmt: skip
    states = {
        "reserved": _column(Inventory, "reserved_stock"),
        "total": _column(Inventory, "total_stock"),
        "safety": _column(Inventory, "safety_stock"),
        "unsellable": _column(Inventory, "unsellable_stock"),
        "incoming": _column(Inventory, "incoming_stock"),
        "version": _column(Inventory, "version"),
    }
    names = {
        **states,
        # Inventory.available in SQL, of the stock row aliased `i`.
        "i_available": "(i.{total} - i.{reserved} - i.{safety} - i.{unsellable})".format(**states),
        "stock": _table(Inventory),
        "product": _table(Product),
        "warehouse": _table(Warehouse),
        "reservation": _table(Reservation),
        "event": _table(ReservationEvent),
        "ledger": _table(LedgerEntry),
        "tally": _table(Tally),
        "r_terms": ", ".join(
            _column(Reservation, name) for name in ("max_extensions", "limit_tally", "quota_tally")
        ),
        "r_columns": r_columns,
        "e_columns": e_columns,
        "l_columns": l_columns,
        "request_id_key": events.REQUEST_ID,
        "i_product": _column(Inventory, "product"),
        "i_warehouse": _column(Inventory, "warehouse"),
        "w_lat": _column(Warehouse, "lat"),
        "w_lng": _column(Warehouse, "lng"),
        # A product with a sale policy or an allocation is held by the ruled path
        # (reservations.services.ruled); the hold statements leave it alone.
        "unruled": "NOT EXISTS (SELECT 1 FROM {policy} WHERE {policy_product} = p.id)"
        " AND NOT EXISTS (SELECT 1 FROM {allocation} WHERE {allocation_product} = p.id)".format(
            policy=_table(SalePolicy),
            policy_product=_column(SalePolicy, "product"),
            allocation=_table(Allocation),
            allocation_product=_column(Allocation, "product"),
        ),
    }
    return {**names, "admitted_events": _ADMITTED_EVENTS.format(**names)}


_HOLD_SQL = """
WITH held AS (
    UPDATE {stock} AS i
       SET {reserved} = i.{reserved} + %(quantity)s, {version} = i.{version} + 1
      FROM {product} AS p, {warehouse} AS w
     WHERE i.{i_product} = %(product_id)s
       AND i.{i_warehouse} = %(warehouse_id)s
       AND p.id = i.{i_product} AND p.active AND {unruled}
       AND w.id = i.{i_warehouse} AND w.active
       AND {i_available} >= %(quantity)s
 RETURNING i.id, i.{version} AS version, i.{total} AS total, i.{reserved} AS reserved,
           i.{safety} AS safety, i.{unsellable} AS unsellable, i.{incoming} AS incoming,
           p.name AS product_name, p.price, p.image, p.category, w.name AS warehouse_name,
           w.city, w.location
), ledger AS (
    INSERT INTO {ledger} ({l_columns})
    SELECT h.id, h.version, %(reason)s, %(actor)s, %(id)s::text, %(request_id)s,
           %(idempotency_key)s, %(now)s, 0, %(quantity)s, 0, 0, 0,
           h.total, h.reserved, h.safety, h.unsellable, h.incoming
      FROM held AS h
), reservation AS (
    INSERT INTO {reservation} ({r_columns})
    SELECT %(id)s, %(product_id)s, %(warehouse_id)s, %(quantity)s, %(pending)s,
           %(expires_at)s, %(now)s, %(now)s, %(user_id)s, %(guest_id)s, %(channel)s,
           %(hold_seconds)s
      FROM held
 RETURNING id
), event AS (
    INSERT INTO {event} ({e_columns})
    SELECT %(reserved)s, %(product_id)s, %(warehouse_id)s, %(quantity)s, id, %(actor)s,
           %(payload)s::jsonb, %(now)s
      FROM reservation
)
SELECT product_name, price, image, category, warehouse_name, city, location FROM held
"""

# The coalesced hold: many requests for one stock row in one statement. `stock` locks the
# row (and reads what is available after waiting for the lock: PostgreSQL 15's UPDATE ...
# RETURNING cannot return the old values); `admission` walks the requests in arrival order
# and admits each one that still fits after those admitted before it, so a later small
# request is admitted after a large one is refused, exactly as one by one; `held` adds the
# admitted units to the row once; each admitted request gets its reservation, its RESERVED
# event and its ledger entry (numbered on from the row's version, in arrival order). One
# row comes back per request, in arrival order, saying whether it was admitted and how many
# units were left when its turn came. No row at all: the stock row is missing or its
# product or warehouse inactive.
#
# `held` computes the new row from the locked one (`s`), never from `i`: when another
# transaction changed the row after this statement's snapshot (a release, a restock), `i` is
# still the snapshot's version, and PostgreSQL checks the table's CHECK constraints on a row
# computed from it before it notices the change and recomputes. With `i`, a batch admitted
# on what a release had just freed failed "reserved 21 > total 20" (docs/reliability.md).
_BATCH_HOLD_SQL = """
WITH RECURSIVE request AS (
    SELECT *
      FROM unnest(%(ids)s::uuid[], %(quantities)s::integer[], %(user_ids)s::bigint[],
                  %(guest_ids)s::uuid[], %(actors)s::text[], %(payloads)s::text[],
                  %(channels)s::text[])
           WITH ORDINALITY AS r(id, quantity, user_id, guest_id, actor, payload, channel, turn)
), stock AS (
    SELECT i.id, i.{total} AS total, i.{reserved} AS reserved, i.{safety} AS safety,
           i.{unsellable} AS unsellable, i.{incoming} AS incoming, i.{version} AS version,
           {i_available} AS available,
           p.name AS product_name, p.price, p.image, p.category,
           w.name AS warehouse_name, w.city, w.location
      FROM {stock} AS i
      JOIN {product} AS p ON p.id = i.{i_product} AND p.active AND {unruled}
      JOIN {warehouse} AS w ON w.id = i.{i_warehouse} AND w.active
     WHERE i.{i_product} = %(product_id)s AND i.{i_warehouse} = %(warehouse_id)s
       FOR UPDATE OF i
), admission (turn, left_before, left_after, admitted) AS (
    SELECT 0::bigint, available, available, false FROM stock
     UNION ALL
    SELECT r.turn, a.left_after,
           CASE WHEN r.quantity <= a.left_after THEN a.left_after - r.quantity
                ELSE a.left_after END,
           r.quantity <= a.left_after
      FROM admission AS a JOIN request AS r ON r.turn = a.turn + 1
), admitted AS (
    SELECT r.* FROM request AS r JOIN admission AS a USING (turn) WHERE a.admitted
), held AS (
    UPDATE {stock} AS i
       SET {reserved} = s.reserved + (SELECT sum(quantity) FROM admitted), {total} = s.total,
           {safety} = s.safety, {unsellable} = s.unsellable, {incoming} = s.incoming,
           {version} = s.version + (SELECT count(*) FROM admitted)
      FROM stock AS s
     WHERE i.id = s.id AND EXISTS (SELECT 1 FROM admitted)
 RETURNING i.id
), ledger AS (
    INSERT INTO {ledger} ({l_columns})
    SELECT s.id, s.version + row_number() OVER turns, %(reason)s, a.actor, a.id::text,
           COALESCE(a.payload::jsonb ->> '{request_id_key}', ''), '', %(now)s,
           0, a.quantity, 0, 0, 0,
           s.total, s.reserved + sum(a.quantity) OVER turns, s.safety, s.unsellable, s.incoming
      FROM admitted AS a CROSS JOIN stock AS s
     WHERE EXISTS (SELECT 1 FROM held)
    WINDOW turns AS (ORDER BY a.turn)
), reservation AS (
    INSERT INTO {reservation} ({r_columns})
    SELECT a.id, %(product_id)s, %(warehouse_id)s, a.quantity, %(pending)s,
           %(expires_at)s, %(now)s, %(now)s, a.user_id, a.guest_id, a.channel,
           %(hold_seconds)s
      FROM admitted AS a
     WHERE EXISTS (SELECT 1 FROM held)
 RETURNING id
{admitted_events})
SELECT a.admitted, a.left_before, s.product_name, s.price, s.image, s.category,
       s.warehouse_name, s.city, s.location
  FROM admission AS a CROSS JOIN stock AS s
 WHERE a.turn > 0
 ORDER BY a.turn
"""

# The ruled hold (reservations.services.ruled), in the batch's transaction: lock a sellable
# row, reading what it has available and what a hold shows of its product and warehouse; then,
# once the rules' walk has admitted some requests, write them as the batch statement does,
# each with its own terms, and add their units to the tallies (locked by then).
_RULED_LOCK_SQL = """
SELECT i.id, {i_available}, p.name, p.price, p.image, p.category, w.name, w.city, w.location
  FROM {stock} AS i
  JOIN {product} AS p ON p.id = i.{i_product} AND p.active
  JOIN {warehouse} AS w ON w.id = i.{i_warehouse} AND w.active
 WHERE i.{i_product} = %(product_id)s AND i.{i_warehouse} = %(warehouse_id)s
   FOR UPDATE OF i
"""
_RULED_HOLD_SQL = """
WITH admitted AS (
    SELECT *
      FROM unnest(%(ids)s::uuid[], %(quantities)s::integer[], %(user_ids)s::bigint[],
                  %(guest_ids)s::uuid[], %(actors)s::text[], %(payloads)s::text[],
                  %(channels)s::text[], %(expires)s::timestamptz[], %(hold_seconds)s::integer[],
                  %(max_extensions)s::integer[], %(limit_tallies)s::text[],
                  %(quota_tallies)s::text[])
           WITH ORDINALITY AS a(id, quantity, user_id, guest_id, actor, payload, channel,
                                expires_at, hold_seconds, max_extensions, limit_tally,
                                quota_tally, turn)
), held AS (
    UPDATE {stock} AS i
       SET {reserved} = i.{reserved} + (SELECT sum(quantity) FROM admitted),
           {version} = i.{version} + (SELECT count(*) FROM admitted)
     WHERE i.id = %(stock_id)s
 RETURNING i.id, i.{total} AS total, i.{safety} AS safety, i.{unsellable} AS unsellable,
           i.{incoming} AS incoming,
           i.{reserved} - (SELECT sum(quantity) FROM admitted) AS reserved_before,
           i.{version} - (SELECT count(*) FROM admitted) AS version_before
), ledger AS (
    INSERT INTO {ledger} ({l_columns})
    SELECT h.id, h.version_before + a.turn, %(reason)s, a.actor, a.id::text,
           COALESCE(a.payload::jsonb ->> '{request_id_key}', ''), %(idempotency_key)s, %(now)s,
           0, a.quantity, 0, 0, 0,
           h.total, h.reserved_before + sum(a.quantity) OVER (ORDER BY a.turn), h.safety,
           h.unsellable, h.incoming
      FROM admitted AS a CROSS JOIN held AS h
), reservation AS (
    INSERT INTO {reservation} ({r_columns}, {r_terms})
    SELECT a.id, %(product_id)s, %(warehouse_id)s, a.quantity, %(pending)s, a.expires_at,
           %(now)s, %(now)s, a.user_id, a.guest_id, a.channel, a.hold_seconds,
           a.max_extensions, a.limit_tally, a.quota_tally
      FROM admitted AS a
 RETURNING id
{admitted_events}), counted AS (
    UPDATE {tally} AS t SET units = t.units + c.units
      FROM (SELECT scope, sum(quantity) AS units
              FROM (SELECT limit_tally AS scope, quantity FROM admitted
                     UNION ALL
                    SELECT quota_tally, quantity FROM admitted) AS counted_in
             WHERE scope IS NOT NULL
             GROUP BY scope) AS c
     WHERE t.scope = c.scope
)
SELECT count(*) FROM held
"""

# Plain reads (no lock, never wait) of sellable stock rows: what one row has available and
# whether its product follows sale rules (sold-out answers come from it), and where a
# product is stocked (routed holds rank it).
# No row: missing, or its product or warehouse inactive.
_SELLABLE_ROWS = """
  FROM {stock} AS i
  JOIN {product} AS p ON p.id = i.{i_product} AND p.active
  JOIN {warehouse} AS w ON w.id = i.{i_warehouse} AND w.active
"""
_AVAILABLE_SQL = (
    "SELECT {i_available}, NOT ({unruled})"
    + _SELLABLE_ROWS
    + " WHERE i.{i_product} = %(product_id)s AND i.{i_warehouse} = %(warehouse_id)s"
)
_STOCK_OPTIONS_SQL = (
    "SELECT i.{i_warehouse}, w.{w_lat}, w.{w_lng}, {i_available}"
    + _SELLABLE_ROWS
    + " WHERE i.{i_product} = %(product_id)s"
)

# One statement, one round trip: the conditional UPDATE takes the hot row's lock and holds
# it only until this statement's own commit; the reservation, its RESERVED event and its
# ledger entry (the row's next sequence number) are inserted only when the UPDATE matched
# (all or nothing, invariants 1-3 and 5 intact). The sellable rule (active product, active
# warehouse) is InventoryQuerySet.sellable()'s.
HOLD_SQL = _HOLD_SQL.format(**_names())
BATCH_HOLD_SQL = _BATCH_HOLD_SQL.format(**_names())
AVAILABLE_SQL = _AVAILABLE_SQL.format(**_names())
STOCK_OPTIONS_SQL = _STOCK_OPTIONS_SQL.format(**_names())
RULED_LOCK_SQL = _RULED_LOCK_SQL.format(**_names())
RULED_HOLD_SQL = _RULED_HOLD_SQL.format(**_names())


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
    channel: str = WEB,
) -> Hold | None:
    """Hold `quantity` units and write the reservation and its RESERVED event.

    Return None, writing nothing, when the row is missing, inactive or short, or when its
    product follows sale rules (reservations.services.ruled holds those).
    """
    reservation_id = uuid.uuid4()
    if channel != WEB:
        payload = {**(payload or {}), "channel": channel}
    event = events.about_stock(
        ReservationEvent.Type.RESERVED,
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        actor=actor,
        at=now,
        reservation_id=reservation_id,
        **(payload or {}),
    )
    params = {
        "id": reservation_id,
        "product_id": product_id,
        "warehouse_id": warehouse_id,
        "quantity": quantity,
        "now": now,
        "expires_at": expires_at,
        "user_id": user_id,
        "guest_id": guest_id,
        "actor": actor,
        "payload": json.dumps(event.payload),
        "pending": Reservation.Status.PENDING,
        "reserved": ReservationEvent.Type.RESERVED,
        "reason": LedgerEntry.Reason.RESERVED,
        "request_id": current_request_id() or "",
        "idempotency_key": current_idempotency_key() or "",
        "channel": channel,
        "hold_seconds": round((expires_at - now).total_seconds()),
    }
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(HOLD_SQL, params)
            row = cursor.fetchone()
    else:
        row = _hold_stock_portably(params)
    if row is None:
        return None
    hold = Hold.written(
        row,
        reservation_id=reservation_id,
        product_id=product_id,
        warehouse_id=warehouse_id,
        quantity=quantity,
        created_at=now,
        expires_at=expires_at,
        user_id=user_id,
        guest_id=guest_id,
        channel=channel,
        hold_seconds=params["hold_seconds"],
    )
    if connection.vendor == "postgresql":  # the portable path records its event with record()
        transaction.on_commit(partial(events.announce, [events.Announcement.of(event)]))
    return hold


_DELTAS = {
    LedgerEntry.Reason.RESERVED: {"held": 1},
    LedgerEntry.Reason.CONFIRMED: {"on_hand": -1, "held": -1},
    LedgerEntry.Reason.RELEASED: {"held": -1},
    LedgerEntry.Reason.EXPIRED: {"held": -1},
}


def stock_change(reservation: Reservation, reason: str, *, actor: str) -> stock_locks.Change:
    """The change a step of `reservation` makes to its stock row, for the ledger: RESERVED
    adds held units, CONFIRMED ships them (on hand and held go down), RELEASED and EXPIRED
    give them back."""
    units = {state: sign * reservation.quantity for state, sign in _DELTAS[reason].items()}
    return stock_locks.Change(
        (reservation.product_id, reservation.warehouse_id),
        reason,
        actor,
        reference=str(reservation.pk),
        **units,
    )


def reserved_event(hold: Hold, *, actor: str) -> events.Announcement:
    """The RESERVED event a coalesced batch wrote in SQL for `hold`, to be announced (logged
    and counted) once it is committed."""
    return events.Announcement(
        type=ReservationEvent.Type.RESERVED,
        actor=actor,
        product_id=hold.product_id,
        warehouse_id=hold.warehouse_id,
        quantity=hold.quantity,
        reservation_id=hold.reservation_id,
    )


def _hold_stock_portably(params: dict) -> tuple | None:
    """Do what HOLD_SQL does with the ORM, for SQLite (whose transactions are IMMEDIATE)."""
    held = stock_locks.Change(
        (params["product_id"], params["warehouse_id"]),
        LedgerEntry.Reason.RESERVED,
        params["actor"],
        held=params["quantity"],
        reference=str(params["id"]),
    )
    if sale_rules.has_rules(params["product_id"]):
        return None
    with transaction.atomic():
        if not stock_locks.hold_if_available(held):
            return None
        reservation = Reservation.objects.create(
            channel=params["channel"],
            hold_seconds=params["hold_seconds"],
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
