"""Expiry: releasing HOLDS due holds with one sweep against one by one through the single-hold
expiry service (transitions.expire_reservation), timed on a SAMPLE and scaled; one JSON line.

The due holds are written with SQL (reservations, their RESERVED events and the row's
reserved units, as holds would leave them), spread over every stock row.
"""

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.db import connection  # noqa: E402

from inventory.models import Inventory  # noqa: E402
from reservations.models import Reservation, ReservationEvent  # noqa: E402
from reservations.services import sweeps, transitions  # noqa: E402

HOLDS = int(os.environ.get("BENCH_EXPIRY_HOLDS", "100000"))
SAMPLE = int(os.environ.get("BENCH_EXPIRY_SAMPLE", "2000"))


def write_due_holds(n: int) -> None:
    """Write n due one-unit holds, round-robin over the stock rows, with their events."""
    stock, holds, events = (
        Inventory._meta.db_table,
        Reservation._meta.db_table,
        ReservationEvent._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {stock} SET total_stock = total_stock + %s", [n])
        cursor.execute(
            f"""
            WITH rows AS (SELECT product_id, warehouse_id, row_number() OVER () - 1 AS i,
                                 count(*) OVER () AS n FROM {stock}),
            made AS (
                INSERT INTO {holds} (id, product_id, warehouse_id, quantity, status, expires_at,
                                     created_at, updated_at)
                SELECT gen_random_uuid(), r.product_id, r.warehouse_id, 1, 'PENDING',
                       now() - interval '1 minute', now() - interval '11 minutes',
                       now() - interval '11 minutes'
                  FROM generate_series(0, %s - 1) AS g JOIN rows AS r ON r.i = g %% r.n
                RETURNING id, product_id, warehouse_id
            ), counted AS (
                UPDATE {stock} AS s SET reserved_stock = s.reserved_stock + c.units
                  FROM (SELECT product_id, warehouse_id, count(*) AS units FROM made
                         GROUP BY 1, 2) AS c
                 WHERE s.product_id = c.product_id AND s.warehouse_id = c.warehouse_id
            )
            INSERT INTO {events} (type, product_id, warehouse_id, quantity, reservation_id,
                                  actor, payload, created_at)
            SELECT 'RESERVED', product_id, warehouse_id, 1, id, 'bench', '{{}}',
                   now() - interval '11 minutes'
              FROM made
            """,
            [n],
        )


def main() -> dict:
    write_due_holds(HOLDS)
    started = time.monotonic()
    released = sweeps.expire_due_reservations()
    sweep_seconds = time.monotonic() - started
    assert released == HOLDS, (released, HOLDS)

    write_due_holds(SAMPLE)
    due = list(
        Reservation.objects.filter(status=Reservation.Status.PENDING).values_list("id", flat=True)
    )
    started = time.monotonic()
    for reservation_id in due:
        transitions.expire_reservation(reservation_id=reservation_id)
    one_by_one_seconds = (time.monotonic() - started) * HOLDS / len(due)
    return {
        "holds": HOLDS,
        "sweep_seconds": sweep_seconds,
        "one_by_one_seconds": one_by_one_seconds,
        "speedup": one_by_one_seconds / sweep_seconds,
    }


if __name__ == "__main__":
    print(json.dumps(main()))
