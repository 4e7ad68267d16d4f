#!/usr/bin/env bash
# `make bench`: the reserve hot path under load on one hot row, over HTTP (gunicorn + wrk)
# and as the bare statement in PostgreSQL (pgbench), on this machine's local PostgreSQL.
# Prints holds/s for both and their ratio. Needs wrk and pgbench (apt-get install wrk).
# BENCH_SERVER=gthread (default: the WSGI app on gunicorn's gthread workers) or asgi (the ASGI
# app on gunicorn with uvicorn workers, as the `stream` process serves /events/).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${BENCH_CLIENTS:-64}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
WORKERS=${BENCH_WORKERS:-4}
THREADS=${BENCH_THREADS:-2}
PORT=${BENCH_PORT:-8899}
SERVER=${BENCH_SERVER:-gthread}
case $SERVER in
  gthread) SERVER_ARGS=(stockd.wsgi --worker-class gthread --threads "$THREADS") ;;
  asgi) SERVER_ARGS=(stockd.asgi_stream:application --worker-class uvicorn_worker.UvicornWorker) ;;
  *) echo "BENCH_SERVER must be gthread or asgi, not $SERVER" >&2; exit 2 ;;
esac
PGURL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/stockd_bench}
DBNAME=${PGURL##*/}
PGBASE=${PGURL%/*}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is missing (postgresql-contrib)" >&2; exit 1; }

export DATABASE_URL=$PGURL SECRET_KEY=bench DEBUG=0 HTTPS_ONLY=0 ALLOWED_HOSTS=127.0.0.1
export DJANGO_SETTINGS_MODULE=stockd.settings
export DATABASE_POOL_MAX_SIZE=$THREADS RESERVE_RATE_LIMIT=
unset REDIS_URL

psql "$PGBASE/postgres" -qc "DROP DATABASE IF EXISTS $DBNAME" -c "CREATE DATABASE $DBNAME"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py seed >/dev/null
read -r PRODUCT_ID WAREHOUSE_ID < <(psql "$PGURL" -Atc \
  "SELECT product_id, warehouse_id FROM inventory_inventory ORDER BY id LIMIT 1" | tr '|' ' ')
reset_hot_row() {
  psql "$PGURL" -qc "TRUNCATE reservations_reservationevent, reservations_reservation CASCADE" \
    -c "UPDATE inventory_inventory SET total_stock = 100000000, reserved_stock = 0
        WHERE product_id = $PRODUCT_ID AND warehouse_id = $WAREHOUSE_ID" -c "VACUUM ANALYZE"
}

reset_hot_row
.venv/bin/gunicorn "${SERVER_ARGS[@]}" --bind 127.0.0.1:$PORT --workers "$WORKERS" \
  --log-level warning &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

echo "== HTTP: POST /api/reservations, $CLIENTS clients, ${SECONDS_PER_RUN}s, gunicorn $SERVER, ${WORKERS} workers (pool ${THREADS})"
BENCH_PRODUCT_ID=$PRODUCT_ID BENCH_WAREHOUSE_ID=$WAREHOUSE_ID \
  wrk -t2 -c"$CLIENTS" -d"${SECONDS_PER_RUN}s" --latency -s bench/reserve.lua \
  "http://127.0.0.1:$PORT/api/reservations" | tee /tmp/stockd-bench-wrk.txt
HTTP_RATE=$(awk '/Requests\/sec/ {print $2}' /tmp/stockd-bench-wrk.txt)
kill $GUNICORN; wait $GUNICORN 2>/dev/null || true
.venv/bin/python manage.py check_invariants

# pgbench runs the hot path's own statement (reservations.locks.HOLD_SQL), its Python
# parameters turned into pgbench variables and SQL expressions.
.venv/bin/python - > /tmp/stockd-bench-hold.sql <<'PY'
import re

import django

django.setup()
from reservations.locks import HOLD_SQL

values = {
    "id": "gen_random_uuid()", "now": "now()", "expires_at": "now() + interval '10 minutes'",
    "user_id": "NULL", "cart_id": "NULL", "guest_id": "NULL", "actor": "'anonymous'",
    "payload": "'{}'", "pending": "'PENDING'", "reserved": "'RESERVED'",
    "quantity": "1", "product_id": ":product_id", "warehouse_id": ":warehouse_id",
}
print(re.sub(r"%\((\w+)\)s", lambda m: values[m.group(1)], HOLD_SQL).strip() + ";")
PY

reset_hot_row
echo "== pgbench: the same statement, $CLIENTS clients, ${SECONDS_PER_RUN}s"
pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" -D product_id="$PRODUCT_ID" \
  -D warehouse_id="$WAREHOUSE_ID" -f /tmp/stockd-bench-hold.sql "$PGURL" \
  | tee /tmp/stockd-bench-pgbench.txt
PG_RATE=$(awk '/^tps/ {print $3; exit}' /tmp/stockd-bench-pgbench.txt)

echo
echo "reserve over HTTP ($SERVER): $HTTP_RATE holds/s; pgbench: $PG_RATE tps; ratio: $(python3 -c "print(round($HTTP_RATE / $PG_RATE, 2))")"
