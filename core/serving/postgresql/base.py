"""django-prometheus' PostgreSQL backend, whose pool replaces every idle connection at once
when it finds one dead.

A database restart, a failover or pg_terminate_backend kills every connection idle in the
pool at once. psycopg_pool's own check (what Django passes it with CONN_HEALTH_CHECKS) finds
them one by one, and backs off between finds: the request sleeps 1 s, then 2 s, 4 s ... while
the fresh connections the pool opened meanwhile wait idle, and may die in turn. `make chaos`
saw the sweeper, whose one idle connection was terminated between every two sweeps, fall
behind its interval that way (docs/reliability.md).

Here a connection is checked as it is lent (psycopg_pool's check_connection, a round trip);
the first one found dead is discarded and the pool is drained (psycopg_pool's drain: every idle
connection is closed and replaced, every lent one is replaced when it comes back), and the
request waits in the pool's queue for a fresh connection. Settings turn CONN_HEALTH_CHECKS off
for pooled databases, as this check replaces the pool's (stockd/settings.py).
"""

from django_prometheus.db.backends.postgresql import base
from psycopg_pool import ConnectionPool

# A connection that was lent before the restart and comes back after the drain is dropped by
# the pool, so a second dead one in a row is rare; a third is an outage, answered with 503.
_ATTEMPTS = 3


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        for attempt in range(1, _ATTEMPTS + 1):
            connection = super().get_new_connection(conn_params)
            if self.pool is None:
                return connection
            try:
                ConnectionPool.check_connection(connection)
                return connection
            except Exception:
                self.pool.putconn(connection)  # discarded, and replaced by the pool
                self.pool.drain()  # the others idle beside it died with it: replace them now
                if attempt == _ATTEMPTS:
                    raise
