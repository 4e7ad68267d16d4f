"""Read the ledger's events until every entry committed so far is read: by dispatcher passes,
or by pages of GET /api/events.

A pass (or a page) reads only entries of transactions older than every transaction still
running on the server (integrations.feed), and tests of the other xdist worker hold theirs
open for a moment: one pass may read less than has committed. These read again until caught
up.
"""

import time

from django.db import connection

from integrations import dispatch, feed
from integrations.feed import Cursor
from integrations.models import DispatchState
from inventory.models import LedgerEntry

_UNREAD_SQL = """
SELECT count(*) FROM inventory_ledgerentry
 WHERE id <= %s AND (txid, id) > (%s::text::xid8, %s)
"""


def _newest() -> int:
    return LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _unread(newest: int, txid: int, entry_id: int) -> int:
    """How many entries up to `newest` lie past the cursor (txid, entry_id)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_SQL, [newest, str(txid), entry_id])
        return cursor.fetchone()[0]


def catch_up(timeout: float = 30) -> None:
    """Dispatch until every entry committed before the call is read (fail after `timeout`)."""
    newest, deadline = _newest(), time.monotonic() + timeout
    while True:
        dispatch.dispatch_once(force=True)
        state = DispatchState.objects.get(pk=1)
        if _unread(newest, state.txid, state.entry_id) == 0:
            return
        assert time.monotonic() < deadline, "the dispatcher did not catch up"
        time.sleep(0.05)


def pull_to_the_end(client, after: str | None = None, timeout: float = 30) -> tuple[list, str]:
    """Page GET /api/events from `after` until every entry committed before the call is
    read; return the events and the cursor."""
    newest, deadline = _newest(), time.monotonic() + timeout
    events: list[dict] = []
    while True:
        page = client.get("/api/events", {"after": after} if after else {}).json()
        events += page["events"]
        after = page["next"]
        if _unread(newest, *map(int, after.split("-"))) == 0:
            return events, after
        assert time.monotonic() < deadline, "GET /api/events did not catch up"
        time.sleep(0.05)


def settled_position(timeout: float = 30) -> Cursor:
    """The ledger feed's newest position once it covers every entry committed before the
    call (what a stream opened now starts from)."""
    newest, deadline = _newest(), time.monotonic() + timeout
    while True:
        position = feed.newest()
        if _unread(newest, position.txid, position.entry_id) == 0:
            return position
        assert time.monotonic() < deadline, "the ledger feed did not settle"
        time.sleep(0.05)


def position_of(entry: LedgerEntry) -> Cursor:
    """The feed position just past `entry`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT txid::text::bigint FROM inventory_ledgerentry WHERE id = %s", [entry.pk]
        )
        return Cursor(txid=cursor.fetchone()[0], entry_id=entry.pk)
