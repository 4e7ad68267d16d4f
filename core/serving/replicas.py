"""Where a read goes: the primary, unless its caller marks it as one that may lag.

A streaming replica (DATABASE_REPLICA_URL, the database alias "replica") serves only the
reads their callers mark, one by one, with `.using(database_for(may_lag=True))`: the public
catalogue and the warehouse list. Every other read, and every write, goes to the primary
(stockd/routers.py), so a hold, a confirm, a staff page or a read of one's own write can
never see the replica's older state. docs/decisions.md gives the reasons.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"


def replica_configured() -> bool:
    """Return whether a read replica is configured (DATABASE_REPLICA_URL is set)."""
    return REPLICA in settings.DATABASES


def database_for(*, may_lag: bool) -> str:
    """Name the database alias for a read: the replica only if it `may_lag` and one is set."""
    return REPLICA if may_lag and replica_configured() else DEFAULT_DB_ALIAS
