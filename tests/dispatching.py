"""Read the ledger's events until every entry committed so far is read: by dispatcher passes,
or by pages of GET /api/events.

A pass (or a page) reads only entries of transactions older than every transaction still
running on the server (integrations.feed), and tests of the other xdist worker hold theirs
open for a moment: one pass may read less than has committed. These read again until caught
up.
"""

import time
from collections.abc import Callable

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


def _unread(newest: int, cursor: Cursor) -> int:
    """How many entries up to `newest` lie past `cursor`."""
    with connection.cursor() as db:
        db.execute(_UNREAD_SQL, [newest, str(cursor.txid), cursor.entry_id])
        return db.fetchone()[0]


def _until_caught_up(step: Callable[[], Cursor], what: str, timeout: float) -> Cursor:
    """Take `step` (a read that answers where it got to) until it has got past every entry
    committed before the call; return where it got to (fail after `timeout`)."""
    newest, deadline = _newest(), time.monotonic() + timeout
    while True:
        reached = step()
        if _unread(newest, reached) == 0:
            return reached
        assert time.monotonic() < deadline, f"{what} did not catch up"
        time.sleep(0.05)


def catch_up(timeout: float = 30) -> None:
    """Dispatch until every entry committed before the call is read."""

    def one_pass() -> Cursor:
        dispatch.dispatch_once(force=True)
        state = DispatchState.objects.get(pk=1)
        return Cursor(txid=state.txid, entry_id=state.entry_id)

    _until_caught_up(one_pass, "the dispatcher", timeout)


def pull_to_the_end(client, after: str | None = None, timeout: float = 30) -> tuple[list, str]:
    """Page GET /api/events from `after` until every entry committed before the call is
    read; return the events and the cursor."""
    events: list[dict] = []
    cursor = after

    def one_page() -> Cursor:
        nonlocal cursor
        page = client.get("/api/events", {"after": cursor} if cursor else {}).json()
        events.extend(page["events"])
        cursor = page["next"]
        return Cursor.parse(cursor)

    _until_caught_up(one_page, "GET /api/events", timeout)
    return events, cursor


def settled_position(timeout: float = 30) -> Cursor:
    """The ledger feed's newest position once it covers every entry committed before the
    call (what a stream opened now starts from)."""
    return _until_caught_up(feed.newest, "the ledger feed", timeout)


def position_of(entry: LedgerEntry) -> Cursor:
    """The feed position just past `entry`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT txid::text::bigint FROM inventory_ledgerentry WHERE id = %s", [entry.pk]
        )
        return Cursor(txid=cursor.fetchone()[0], entry_id=entry.pk)
