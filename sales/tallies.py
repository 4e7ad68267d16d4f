"""Tallies: units counted against a customer's limit or a channel's quota, changed only under
the lock of the row they count in. Every transaction takes them last, after its stock rows
(and a promotion's waiting entries), in scope order (reservations.locks states the whole
order), so tallies never deadlock."""

from collections.abc import Iterable, Mapping

from django.db import connection
from django.db.models import F

from sales.models import Tally

_TABLE = Tally._meta.db_table
# Make the missing tallies and lock them all in scope order, in one statement: an INSERT ...
# ON CONFLICT DO UPDATE locks each row as it reaches it (waiting for its holder) and returns
# its latest committed units, so the count is current whenever this transaction took it.
LOCK_SQL = f"""
INSERT INTO {_TABLE} (scope, units)
SELECT scope, 0 FROM unnest(%s::text[]) AS s(scope) ORDER BY scope
    ON CONFLICT (scope) DO UPDATE SET units = {_TABLE}.units
RETURNING scope, units
"""


def customer_scope(product_id: int, customer: str, window: str) -> str:
    return f"customer:{product_id}:{customer}:{window}"


def quota_scope(allocation_id: int, window: str) -> str:
    return f"quota:{allocation_id}:{window}"


def lock(scopes: Iterable[str]) -> dict[str, int]:
    """Lock these tallies (making the missing ones at 0) in scope order; return their units."""
    scopes = sorted(set(scopes))
    if not scopes:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, [scopes])
            return dict(cursor.fetchall())
    # SQLite's transactions are IMMEDIATE: nobody else writes meanwhile.
    Tally.objects.bulk_create([Tally(scope=s) for s in scopes], ignore_conflicts=True)
    return dict(Tally.objects.filter(scope__in=scopes).values_list("scope", "units"))


def add(units: Mapping[str, int]) -> None:
    """Add units to locked tallies (negative: give them back), in scope order."""
    for scope in sorted(units):
        if units[scope]:
            Tally.objects.filter(scope=scope).update(units=F("units") + units[scope])
