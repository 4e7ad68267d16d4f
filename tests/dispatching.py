"""Run the dispatcher until it has read every ledger entry committed so far.

A pass reads only entries of transactions older than every transaction still running on the
server (integrations.feed), and tests of the other xdist worker hold theirs open for a moment:
one pass may read less than has committed. This helper passes again until it has caught up.
"""

import time

from django.db import connection

from integrations import dispatch
from integrations.models import DispatchState
from inventory.models import LedgerEntry

_UNREAD_SQL = """
SELECT count(*) FROM inventory_ledgerentry
 WHERE id <= %s AND (txid, id) > (%s::text::xid8, %s)
"""


def catch_up(timeout: float = 30) -> None:
    """Dispatch until every entry committed before the call is read (fail after `timeout`)."""
    newest = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    deadline = time.monotonic() + timeout
    while True:
        dispatch.dispatch_once(force=True)
        state = DispatchState.objects.get(pk=1)
        with connection.cursor() as cursor:
            cursor.execute(_UNREAD_SQL, [newest, str(state.txid), state.entry_id])
            if cursor.fetchone()[0] == 0:
                return
        assert time.monotonic() < deadline, "the dispatcher did not catch up"
        time.sleep(0.05)
