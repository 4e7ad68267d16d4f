"""`make bench`: the whole product side by side on this machine, one table of medians.

It makes a bench database (migrated, seeded), starts the production `web` process as the
Procfile runs it (gunicorn, uvicorn workers, the ASGI app; DEBUG off, rate limit off) and
drives it over loopback with compiled load generators: wrk (HTTP load), ab (the last-unit
storm) and pgbench (the database alone). Each figure is the median of BENCH_RUNS runs (3).
Afterwards `manage.py check_invariants` must pass on the bench database, or the bench fails.

The rows of the table (issue 16):
  anchor   pgbench, today's one-hold statement (reservations.locks.HOLD_SQL) on stockd's
           tables, one hold per transaction on one row, at 1, 2, 4, 8, 16 and 64 clients:
           the best rate (the one-by-one ceiling) and the 64-client one; the lean floor: the
           same hold on bare tables without foreign keys, flags or indexes.
  1        hot SKU over HTTP: BENCH_CLIENTS (64) clients hold 1 unit of one row
  2        the coalescer without HTTP: 64 async callers of the hold service on one row
  3        sold out: the same load on a row with nothing available
  4        the original's design (SERIALIZABLE + SELECT ... FOR UPDATE), pgbench, 64 clients
  5        spread: holds over all 265 rows, over HTTP and as pgbench
  6        last-unit storm: 1,000 clients (ab) for 100 units
  7        catalogue: GET /api/products and the catalogue page per second, shared for
           CATALOGUE_CACHE_SECONDS and, side by side, rendered each time (a second web
           process with CATALOGUE_CACHE_SECONDS=0); SQL queries per rendering
  8        expiry: one sweep of 100,000 due holds against one by one (scaled from a sample)
  9        run 1 again with 200 live stock streams open
  10       memory: peak RSS of the web processes under load, and per open stream
  11       routed holds over HTTP: run 1's load without warehouseId (nearest to a city)
  12       run 1 with a webhook subscribed to the stock events, beat and a worker delivering
           (bench/subscribed.py): holds/s against run 1, commit-to-delivery p95
  13       run 1 under sale rules (a limit per customer, a quota on the web channel) and
           without them, alternating run by run in one sitting: holds/s with against
           without; once as guests, once as 20,000 signed-in customers (bench/customers.py)

The table gives each figure beside its target (issue 24) and says whether it is held.

Settings (environment): BENCH_SECONDS (20), BENCH_ANCHOR_SECONDS (5), BENCH_RUNS (3),
BENCH_CLIENTS (64), BENCH_PORT (8899), BENCH_DATABASE_URL, BENCH_REDIS_URL
(redis://127.0.0.1:6379/15), WEB_CONCURRENCY (2).
"""

import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from subscribed import Subscribed  # bench/subscribed.py

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv/bin/python")
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
ANCHOR_SECONDS = int(os.environ.get("BENCH_ANCHOR_SECONDS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "64"))
PORT = int(os.environ.get("BENCH_PORT", "8899"))
WORKERS = int(os.environ.get("WEB_CONCURRENCY", "2"))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stockd_bench"
)
ANCHOR_CLIENTS = (1, 2, 4, 8, 16, 64)
STORM_CLIENTS, STORM_UNITS = 1000, 100
STREAMS = 200
CITY = "Mumbai"  # routed holds (run 11) go to the warehouse nearest it
BASE_URL = f"http://127.0.0.1:{PORT}"

ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "stockd.settings",
    "SECRET_KEY": "bench",
    "DEBUG": "0",
    "HTTPS_ONLY": "0",
    "ALLOWED_HOSTS": "127.0.0.1",
    "RESERVE_RATE_LIMIT": "",
    "LOG_LEVEL": "WARNING",
    "WEB_CONCURRENCY": str(WORKERS),
}
# The shared cache, as in production (`make production` requires REDIS_URL): a Redis
# database of the bench's own, emptied with the bench database.
ENV["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def sh(*command: str, **kwargs) -> str:
    return subprocess.run(
        command, check=True, capture_output=True, text=True, env=ENV, cwd=ROOT, **kwargs
    ).stdout


def psql(*statements: str, atomic: bool = False) -> str:
    """Run statements, each its own transaction, or all in one with `atomic`."""
    args = [arg for statement in statements for arg in ("-c", statement)]
    return sh("psql", DATABASE_URL, "-qAt", *(["--single-transaction"] if atomic else []), *args)


def median_of(run: Callable[[], dict]) -> dict:
    """Run `run` RUNS times; return the median of each figure it reports."""
    results = [run() for _ in range(RUNS)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


# --- the database ---------------------------------------------------------------------------


def prepare_database() -> None:
    base, name = DATABASE_URL.rsplit("/", 1)
    sh(
        "psql",
        f"{base}/postgres",
        "-qc",
        f"DROP DATABASE IF EXISTS {name}",
        "-c",
        f"CREATE DATABASE {name}",
    )
    sh(PYTHON, "manage.py", "migrate", "-v0")
    sh(PYTHON, "manage.py", "seed")
    sh("redis-cli", "-u", ENV["REDIS_URL"], "flushdb")


# After the ledger is emptied: every row holds nothing and opens its ledger again with one
# COUNTED entry of its states, so `check_invariants` replays it (invariant 5).
COUNTED_AGAIN_SQL = """
WITH counted AS (
    UPDATE inventory_inventory SET reserved_stock = 0, version = 1
 RETURNING id, total_stock, safety_stock, unsellable_stock, incoming_stock
)
INSERT INTO inventory_ledgerentry
       (stock_id, sequence, reason, actor, reference, request_id, idempotency_key, created_at,
        on_hand, held, safety, unsellable, incoming, on_hand_after, held_after, safety_after,
        unsellable_after, incoming_after)
SELECT id, 1, 'COUNTED', 'bench', '', '', '', now(), total_stock, 0, safety_stock,
       unsellable_stock, incoming_stock, total_stock, 0, safety_stock, unsellable_stock,
       incoming_stock
  FROM counted
"""


def reset(total: int = 100_000_000, where: str = "true") -> None:
    """Forget every hold and give the rows matching `where` `total` units, none reserved.

    Only the stock rows are analyzed: statistics of the emptied tables would say "empty", and
    plans made from them (the foreign-key checks of every hold's INSERTs) scan those tables
    whole while a run fills them, each hold slower than the last until autovacuum analyzes
    them again. A production database is never emptied; truncated, the tables' size is
    unknown to the planner, which then uses their indexes.
    """
    # One transaction: a hold still in flight from the last run (its client gone, the server
    # finishing it) waits for the reset and numbers its ledger entry after it, instead of
    # writing between the TRUNCATE and the recount and colliding with a later entry. The stock
    # table is locked first, as every hold locks its row first: a hold holding a row never
    # waits on the TRUNCATE's locks while the reset waits on its row.
    psql(
        "LOCK TABLE inventory_inventory IN EXCLUSIVE MODE",
        "TRUNCATE reservations_reservationevent, reservations_reservation,"
        " reservations_waitlistentry, idempotency_idempotencykey, inventory_ledgerentry,"
        " sales_tally",
        f"UPDATE inventory_inventory SET total_stock = {total} WHERE {where}",
        COUNTED_AGAIN_SQL,
        atomic=True,
    )
    psql("VACUUM ANALYZE inventory_inventory")


# Figure 13: CUSTOMERS signed-in customers (a limit binds accounts), each request one of them
# at random, both runs alike; with the rules, each hold counts in its customer's tally (the
# limit: 5, which about one hold per customer per run seldom reaches, so the run measures
# holds, not refusals) and in the web channel's one (the quota).
CUSTOMERS = 20_000
SALE_RULES_SQL = (
    "INSERT INTO sales_salepolicy (product_id, limit_per_customer, updated_at)"
    " VALUES ({product}, 5, now())",
    "INSERT INTO sales_allocation (channel_id, product_id, quota, updated_at)"
    " SELECT id, {product}, 1000000000, now() FROM sales_channel WHERE code = 'web'",
)
NO_SALE_RULES_SQL = ("DELETE FROM sales_salepolicy", "DELETE FROM sales_allocation")


def signed_in_customers() -> dict:
    """CUSTOMERS accounts with sessions; reserve.lua's setting to send their cookies."""
    cookies = Path(tempfile.mkdtemp()) / "cookies"
    in_process("customers.py", str(CUSTOMERS), str(cookies))
    return {"BENCH_COOKIES": str(cookies)}


def with_and_without_rules(product: int, hot: dict) -> tuple[dict, dict]:
    """Run 1 (`hot`: as guests, or as signed-in customers) without sale rules and with them,
    alternating run by run (the machine's drift weighs on both alike); return the medians of
    each."""
    without, with_rules = [], []
    for _ in range(RUNS):
        psql(*NO_SALE_RULES_SQL)
        reset()
        without.append(wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, hot))
        psql(*(statement.format(product=product) for statement in SALE_RULES_SQL))
        reset()
        with_rules.append(wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, hot))
    psql(*NO_SALE_RULES_SQL)
    return tuple(
        {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for runs in (without, with_rules)
    )


def hot_row() -> tuple[int, int]:
    product, warehouse = psql(
        "SELECT product_id, warehouse_id FROM inventory_inventory ORDER BY id LIMIT 1"
    ).split("|")
    return int(product), int(warehouse)


def id_ranges() -> tuple[tuple[int, int], tuple[int, int]]:
    """The seed's product and warehouse id ranges (every pair is a stock row)."""
    low_p, high_p, low_w, high_w, rows = map(
        int,
        psql(
            "SELECT min(product_id), max(product_id), min(warehouse_id), max(warehouse_id),"
            " count(*) FROM inventory_inventory"
        ).split("|"),
    )
    assert rows == (high_p - low_p + 1) * (high_w - low_w + 1), "the seed's ids are not dense"
    return (low_p, high_p), (low_w, high_w)


# --- pgbench ------------------------------------------------------------------------------------


def hold_script() -> str:
    """The hot path's own statement, its Python parameters turned into pgbench expressions."""
    source = sh(
        PYTHON,
        "-c",
        "import django; django.setup(); from reservations.locks import HOLD_SQL; print(HOLD_SQL)",
    )
    values = {
        "id": "gen_random_uuid()",
        "now": "now()",
        "expires_at": "now() + interval '10 minutes'",
        "user_id": "NULL",
        "cart_id": "NULL",
        "guest_id": "NULL",
        "actor": "'anonymous'",
        "payload": "'{}'",
        "pending": "'PENDING'",
        "reserved": "'RESERVED'",
        "reason": "'RESERVED'",
        "request_id": "''",
        "idempotency_key": "''",
        "quantity": "1",
        "product_id": ":product_id",
        "warehouse_id": ":warehouse_id",
    }
    return re.sub(r"%\((\w+)\)s", lambda m: values[m.group(1)], source).strip() + ";\n"


LEAN_SETUP = """
DROP TABLE IF EXISTS lean_stock, lean_hold, lean_event;
CREATE TABLE lean_stock (product_id int, warehouse_id int, total int, reserved int);
CREATE TABLE lean_hold (id uuid, product_id int, warehouse_id int, quantity int, status text,
                        expires_at timestamptz, created_at timestamptz);
CREATE TABLE lean_event (type text, product_id int, warehouse_id int, quantity int,
                         hold_id uuid, created_at timestamptz);
INSERT INTO lean_stock SELECT product_id, warehouse_id, 100000000, 0 FROM inventory_inventory;
"""
LEAN_SCRIPT = """
WITH held AS (
    UPDATE lean_stock SET reserved = reserved + 1
     WHERE product_id = :product_id AND warehouse_id = :warehouse_id AND total - reserved >= 1
 RETURNING product_id
), hold AS (
    INSERT INTO lean_hold SELECT gen_random_uuid(), :product_id, :warehouse_id, 1, 'PENDING',
           now() + interval '10 minutes', now() FROM held RETURNING id
)
INSERT INTO lean_event SELECT 'RESERVED', :product_id, :warehouse_id, 1, id, now() FROM hold;
"""
ORIGINAL_SCRIPT = """
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT total_stock - reserved_stock FROM inventory_inventory
 WHERE product_id = :product_id AND warehouse_id = :warehouse_id FOR UPDATE;
UPDATE inventory_inventory SET reserved_stock = reserved_stock + 1
 WHERE product_id = :product_id AND warehouse_id = :warehouse_id;
INSERT INTO reservations_reservation (id, product_id, warehouse_id, quantity, status,
       expires_at, created_at, updated_at)
VALUES (gen_random_uuid(), :product_id, :warehouse_id, 1, 'PENDING',
        now() + interval '10 minutes', now(), now());
COMMIT;
"""


def pgbench(script: str, clients: int, seconds: int, variables: dict[str, str]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    defines = [arg for name, value in variables.items() for arg in ("-D", f"{name}={value}")]
    out = sh(
        "pgbench",
        "-n",
        "-c",
        str(clients),
        "-j",
        str(min(clients, 2)),
        "-T",
        str(seconds),
        "--failures-detailed",
        *defines,
        "-f",
        file.name,
        DATABASE_URL,
    )
    os.unlink(file.name)
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    failed = int(failed.group(1)) if failed else 0
    return {
        "tps": done / seconds,
        "failed_per_second": failed / seconds,
        "error_rate": failed / max(1, done + failed),
    }


# --- the web process and HTTP load ------------------------------------------------------------


class Web:
    """The Procfile's `web` process on BENCH_PORT."""

    def __init__(self, **settings: str) -> None:
        procfile = (ROOT / "Procfile").read_text()
        command = re.search(r"^web: (.*)$", procfile, re.M).group(1)
        command = command.replace("${PORT:-8000}", str(PORT)).replace("0.0.0.0", "127.0.0.1")
        command = re.sub(r"\$\{WEB_CONCURRENCY:-\d+\}", str(WORKERS), command)
        command = command.replace("--access-logfile -", "--log-level warning")
        self.command = command
        bin_path = str(ROOT / ".venv/bin")
        self.process = subprocess.Popen(
            f"exec {command}",
            shell=True,
            cwd=ROOT,
            start_new_session=True,
            env={**ENV, **settings, "PATH": f"{bin_path}:{os.environ['PATH']}"},
        )
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{BASE_URL}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the web process did not answer /healthz")

    def workers(self) -> list[int]:
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(pid) for pid in children]

    def memory_mib(self, field: str) -> float:
        """Sum over the workers of a /proc status field (VmRSS now, VmHWM its peak)."""
        total = 0
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(rf"{field}:\s+(\d+)", status).group(1))
        return total / 1024

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk(script: str | None, path: str, seconds: int, clients: int, extra_env: dict) -> dict:
    args = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        args += ["-s", str(ROOT / "bench" / script)]
    out = subprocess.run(
        [*args, f"{BASE_URL}{path}"],
        check=True,
        capture_output=True,
        text=True,
        env={**ENV, **extra_env},
    ).stdout
    figures = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
    }
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    socket_errors = sum(map(int, socket.groups())) if socket else 0
    answers = re.search(r"answers: (\d+) x 201, (\d+) x 409, (\d+) other", out)
    if answers:
        created, sold_out, other = map(int, answers.groups())
        figures |= {
            "holds_per_second": created / seconds,
            "sold_out_per_second": sold_out / seconds,
            "errors": other + socket_errors,
        }
    else:
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        figures["errors"] = socket_errors + (int(non_2xx.group(1)) if non_2xx else 0)
    return figures


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def _raise_open_files_limit() -> None:
    """Let ab open a connection per client (the soft limit up to the hard one)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def storm(product_id: int, warehouse_id: int) -> dict:
    """STORM_CLIENTS clients at once (ab) for STORM_UNITS units of one row."""
    reset(STORM_UNITS, f"product_id = {product_id} AND warehouse_id = {warehouse_id}")
    body = json.dumps({"productId": product_id, "warehouseId": warehouse_id, "quantity": 1})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        file.write(body)
    started = time.monotonic()
    out = subprocess.run(
        [
            "ab",
            "-q",
            "-v",
            "2",
            "-l",
            "-n",
            str(STORM_CLIENTS),
            "-c",
            str(STORM_CLIENTS),
            "-s",
            "60",
            "-p",
            file.name,
            "-T",
            "application/json",
            f"{BASE_URL}/api/reservations",
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=_raise_open_files_limit,
    ).stdout
    elapsed = time.monotonic() - started
    os.unlink(file.name)
    statuses = re.findall(r"^HTTP/1\.\d (\d{3})", out, re.M)
    held = int(
        psql(
            f"SELECT reserved_stock FROM inventory_inventory WHERE product_id = "
            f"{product_id} AND warehouse_id = {warehouse_id}"
        )
    )
    return {
        "created": statuses.count("201"),
        "sold_out": statuses.count("409"),
        "errors": len(statuses)
        - statuses.count("201")
        - statuses.count("409")
        + (STORM_CLIENTS - len(statuses)),
        "units_held": held,
        "seconds": elapsed,
    }


def catalogue_queries() -> int:
    """SQL queries one rendering of GET /api/products sends (Django's test client, same
    settings; the shared answer, CATALOGUE_CACHE_SECONDS, sends none in between)."""
    return int(
        sh(
            PYTHON,
            "-c",
            (
                "import django; django.setup()\n"
                "from django.db import connection\n"
                "from django.test import Client, override_settings\n"
                "from django.test.utils import CaptureQueriesContext\n"
                "client = Client()\n"
                "client.get('/api/products', HTTP_HOST='127.0.0.1')\n"
                "with override_settings(CATALOGUE_CACHE_SECONDS=0):\n"
                "    with CaptureQueriesContext(connection) as queries:\n"
                "        response = client.get('/api/products', HTTP_HOST='127.0.0.1')\n"
                "assert response.status_code == 200\n"
                "print(len(queries))"
            ),
        ).strip()
    )


def expire_due_holds() -> dict:
    reset(0)
    return in_process("expiry.py")


def in_process(script: str, *args: str) -> dict:
    return json.loads(sh(PYTHON, f"bench/{script}", *args).strip().splitlines()[-1])


class Streams:
    """STREAMS open GET /events/stock/ streams, held by a child process until closed."""

    def __init__(self) -> None:
        code = (
            "import asyncio, sys\n"
            "sys.path.insert(0, 'bench')\n"
            "import streams\n"
            f"streams.PORT = {PORT}\n"
            "async def main():\n"
            f"    opened = [streams.Stream() for _ in range({STREAMS})]\n"
            "    await asyncio.gather(*(s.open() for s in opened))\n"
            "    print('open', flush=True)\n"
            "    await asyncio.sleep(3600)\n"
            "asyncio.run(main())\n"
        )
        self.process = subprocess.Popen(
            [PYTHON, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=ENV
        )
        assert self.process.stdout.readline().strip() == "open", "streams did not open"

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the table ----------------------------------------------------------------------------------


def held(ok: bool) -> str:
    return "held" if ok else "NOT HELD"


def main() -> int:
    for tool in ("wrk", "ab", "pgbench", "psql", "redis-cli"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            print(f"{tool} is missing: apt-get install -y wrk apache2-utils postgresql-contrib")
            return 1
    prepare_database()
    product, warehouse = hot_row()
    (low_p, high_p), (low_w, high_w) = id_ranges()
    one_row = {"product_id": str(product), "warehouse_id": str(warehouse)}
    hot = {"BENCH_PRODUCT_ID": str(product), "BENCH_WAREHOUSE_ID": str(warehouse)}
    rows: list[tuple[str, str, str, str]] = []  # run, figure, target, verdict
    print(
        f"# stockd bench: {os.cpu_count()} cores, medians of {RUNS} runs, {CLIENTS} clients, "
        f"{SECONDS} s per run ({ANCHOR_SECONDS} s per anchor run)",
        flush=True,
    )

    # The anchor and the lean floor: the database alone, one row.
    anchor, lean = {}, {}
    psql(LEAN_SETUP)
    for clients in ANCHOR_CLIENTS:
        reset()
        anchor[clients] = median_of(
            lambda c=clients: pgbench(hold_script(), c, ANCHOR_SECONDS, one_row)
        )["tps"]
        lean[clients] = median_of(
            lambda c=clients: pgbench(LEAN_SCRIPT, c, ANCHOR_SECONDS, one_row)
        )["tps"]
    best_clients = max(anchor, key=anchor.get)
    best = anchor[best_clients]
    rows.append(
        (
            "anchor: pgbench one-hold statement, one row",
            f"best {best:.0f}/s at {best_clients} clients; {anchor[64]:.0f}/s at 64",
            "pgbench -c N, N in 1 2 4 8 16 64",
            "",
        )
    )
    rows.append(
        (
            "lean floor: same hold, bare tables",
            f"best {max(lean.values()):.0f}/s; {lean[64]:.0f}/s at 64",
            " ".join(f"{c}:{lean[c]:.0f}" for c in ANCHOR_CLIENTS),
            "",
        )
    )

    web = Web()
    rows.append(("web process (Procfile)", f"`{web.command}`", f"{WORKERS} workers", ""))
    try:
        # 1. Hot SKU over HTTP.
        reset()
        hot_sku = median_of(lambda: wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, hot))
        peak_rss = web.memory_mib("VmHWM")
        ratio = hot_sku["holds_per_second"] / best
        rows.append(
            (
                "1 hot SKU over HTTP",
                f"{hot_sku['holds_per_second']:.0f} holds/s ({ratio:.2f}x anchor), p50 "
                f"{hot_sku['p50_ms']:.0f} ms, p99 {hot_sku['p99_ms']:.0f} ms, "
                f"{hot_sku['errors']:.0f} errors",
                ">= 2.0x anchor, p99 <= 100 ms, 0 errors",
                held(ratio >= 2.0 and hot_sku["p99_ms"] <= 100 and hot_sku["errors"] == 0),
            )
        )

        # 9. The same with live streams open; 10. memory per stream.
        rss_before = web.memory_mib("VmRSS")
        streams = Streams()
        try:
            rss_with = web.memory_mib("VmRSS")
            reset()
            streamed = median_of(
                lambda: wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, hot)
            )
        finally:
            streams.close()
        drop = 1 - streamed["holds_per_second"] / hot_sku["holds_per_second"]
        rows.append(
            (
                f"9 hot SKU with {STREAMS} streams open",
                f"{streamed['holds_per_second']:.0f} holds/s ({drop:+.0%} drop)",
                "drop <= 10%",
                held(drop <= 0.10),
            )
        )
        rows.append(
            (
                "10 memory",
                f"peak RSS of {WORKERS} web workers under load "
                f"{peak_rss:.0f} MiB; {(rss_with - rss_before) * 1024 / STREAMS:.0f} KiB "
                "per open stream",
                "VmHWM, VmRSS from /proc",
                "",
            )
        )

        # 3. Sold out: the same load on a row with nothing available.
        reset(0, f"product_id = {product} AND warehouse_id = {warehouse}")
        sold_out = median_of(lambda: wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, hot))
        rows.append(
            (
                "3 sold out",
                f"{sold_out['sold_out_per_second']:.0f} 409s/s, p99 "
                f"{sold_out['p99_ms']:.0f} ms, {sold_out['errors']:.0f} errors",
                "409s/s >= run 1's holds/s, p99 under run 1's",
                held(
                    sold_out["sold_out_per_second"] >= hot_sku["holds_per_second"]
                    and sold_out["p99_ms"] < hot_sku["p99_ms"]
                    and sold_out["errors"] == 0
                ),
            )
        )

        # 5. Spread over every row.
        reset()
        spread_env = {
            "BENCH_PRODUCTS": f"{low_p} {high_p}",
            "BENCH_WAREHOUSES": f"{low_w} {high_w}",
        }
        spread = median_of(
            lambda: wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, spread_env)
        )
        spread_script = (
            f"\\set product_id random({low_p}, {high_p})\n"
            f"\\set warehouse_id random({low_w}, {high_w})\n" + hold_script()
        )
        reset()
        spread_pg = median_of(lambda: pgbench(spread_script, CLIENTS, SECONDS, {}))["tps"]
        rows.append(
            (
                "5 spread over all rows",
                f"{spread['holds_per_second']:.0f} holds/s over "
                f"HTTP; pgbench {spread_pg:.0f}/s; ratio "
                f"{spread['holds_per_second'] / spread_pg:.2f}",
                f"{CLIENTS} clients",
                "",
            )
        )

        # 11. Routed holds (no warehouseId: the nearest warehouse with stock), the lean path.
        reset()
        routed = median_of(
            lambda: wrk(
                "reserve.lua", "/api/reservations", SECONDS, CLIENTS, {**hot, "BENCH_CITY": CITY}
            )
        )
        rows.append(
            (
                f"11 routed holds over HTTP (city {CITY}, one product)",
                f"{routed['holds_per_second']:.0f} holds/s "
                f"({routed['holds_per_second'] / best:.2f}x anchor), p99 "
                f"{routed['p99_ms']:.0f} ms, {routed['errors']:.0f} errors",
                "on the lean path: one shared read of the product's rows, then the coalescer",
                "",
            )
        )

        # 12. Run 1 again with a webhook subscribed (beat and a worker delivering).
        subscribed = Subscribed(root=ROOT, env=ENV, psql=psql)
        try:
            reset()
            subscribed.settle(psql)
            with_hook = median_of(
                lambda: wrk("reserve.lua", "/api/reservations", SECONDS, CLIENTS, hot)
            )
            time.sleep(3)  # the last second's events reach the receiver
        finally:
            subscribed.stop()
        kept = with_hook["holds_per_second"] / hot_sku["holds_per_second"]
        p95 = subscribed.p95_seconds()
        rows.append(
            (
                "12 run 1 with a webhook subscribed (stock events)",
                f"{with_hook['holds_per_second']:.0f} holds/s ({kept:.2f}x run 1), "
                f"{len(subscribed.delays)} deliveries, commit to delivery p95 {p95:.2f} s",
                ">= 0.9x run 1, p95 < 2 s",
                held(kept >= 0.9 and p95 < 2),
            )
        )

        # 13. Run 1 under sale rules, against run 1 without them, in one sitting: as guests
        # (the quota binds them, a limit does not) and as signed-in customers (both do).
        customers = signed_in_customers()
        for who, load in (("guests", hot), ("signed-in customers", {**hot, **customers})):
            plain, ruled = with_and_without_rules(product, load)
            kept = ruled["holds_per_second"] / plain["holds_per_second"]
            rows.append(
                (
                    f"13 run 1 by {who} under sale rules (a limit, a web quota)",
                    f"{ruled['holds_per_second']:.0f} holds/s against "
                    f"{plain['holds_per_second']:.0f} without ({kept:.2f}x), p99 "
                    f"{ruled['p99_ms']:.0f} ms against {plain['p99_ms']:.0f} ms, "
                    f"{ruled['errors']:.0f} errors",
                    ">= 0.85x the same run without rules, 0 errors",
                    held(kept >= 0.85 and ruled["errors"] == 0),
                )
            )

        # 6. The last-unit storm.
        last_unit = median_of(lambda: storm(product, warehouse))
        exact = (
            last_unit["created"] == STORM_UNITS == last_unit["units_held"]
            and last_unit["errors"] == 0
        )
        rows.append(
            (
                f"6 storm: {STORM_CLIENTS} clients, {STORM_UNITS} units",
                f"{last_unit['created']:.0f} x 201, {last_unit['sold_out']:.0f} x 409, "
                f"{last_unit['errors']:.0f} errors, {last_unit['units_held']:.0f} units "
                f"held, {last_unit['seconds']:.2f} s",
                f"exactly {STORM_UNITS} x 201 and units held, 0 errors (ab -n 1000 -c 1000)",
                held(exact),
            )
        )

        # 7. The catalogue, shared (this web) and rendered each time (below), side by side.
        catalogue = median_of(lambda: wrk(None, "/api/products", SECONDS, CLIENTS, {}))
        page = median_of(lambda: wrk(None, "/products/", SECONDS, CLIENTS, {}))
    finally:
        web.stop()

    rendering = Web(CATALOGUE_CACHE_SECONDS="0")
    try:
        catalogue_rendered = median_of(lambda: wrk(None, "/api/products", SECONDS, CLIENTS, {}))
        page_rendered = median_of(lambda: wrk(None, "/products/", SECONDS, CLIENTS, {}))
    finally:
        rendering.stop()
    for name, shared, rendered in (
        ("7 catalogue GET /api/products", catalogue, catalogue_rendered),
        ("7 catalogue page /products/", page, page_rendered),
    ):
        ratio = shared["rps"] / rendered["rps"]
        rows.append(
            (
                name,
                f"{shared['rps']:.0f} requests/s shared, {rendered['rps']:.0f} rendered each "
                f"time ({ratio:.1f}x); p99 {shared['p99_ms']:.0f} ms; "
                f"{shared['errors'] + rendered['errors']:.0f} errors",
                ">= 10x rendered each time (CATALOGUE_CACHE_SECONDS=0)",
                held(ratio >= 10 and shared["errors"] + rendered["errors"] == 0),
            )
        )
    rows.append(
        (
            "7 SQL queries per rendered catalogue",
            f"{catalogue_queries()}",
            "GET /api/products, rendered",
            "",
        )
    )

    # 4. The original's design, the database alone (no HTTP: its best case).
    reset()
    original = median_of(lambda: pgbench(ORIGINAL_SCRIPT, CLIENTS, SECONDS, one_row))
    ratio = hot_sku["holds_per_second"] / original["tps"]
    rows.append(
        (
            "4 original design (SERIALIZABLE + FOR UPDATE)",
            f"{original['tps']:.0f} holds/s, {original['error_rate']:.0%} errors; stockd "
            f"{ratio:.1f}x",
            "stockd (run 1) >= 5x (pgbench, 64 clients)",
            held(ratio >= 5),
        )
    )

    # 2. The coalescer without HTTP.
    reset()
    coalesced = median_of(lambda: in_process("coalescer.py", str(product), str(warehouse)))
    ratio = coalesced["holds_per_second"] / best
    rows.append(
        (
            "2 coalescer without HTTP",
            f"{coalesced['holds_per_second']:.0f} holds/s ({ratio:.1f}x anchor), mean batch "
            f"{coalesced['mean_batch']:.1f}",
            ">= 5x anchor (64 async callers)",
            held(ratio >= 5),
        )
    )

    # 8. Expiry.
    expiry = median_of(expire_due_holds)
    rows.append(
        (
            "8 expiry of 100,000 due holds",
            f"sweep {expiry['sweep_seconds']:.1f} s; one "
            f"by one {expiry['one_by_one_seconds']:.0f} s; {expiry['speedup']:.0f}x",
            ">= 20x one by one",
            held(expiry["speedup"] >= 20),
        )
    )

    invariants = subprocess.run(
        [PYTHON, "manage.py", "check_invariants"], cwd=ROOT, env=ENV, capture_output=True, text=True
    )
    rows.append(
        (
            "invariants",
            invariants.stdout.strip() or invariants.stderr.strip(),
            "manage.py check_invariants passes",
            held(invariants.returncode == 0),
        )
    )

    width = max(len(r[0]) for r in rows)
    print(f"\n| {'run'.ljust(width)} | figure | target | |\n|{'-' * (width + 2)}|---|---|---|")
    for name, figure, target, verdict in rows:
        print(f"| {name.ljust(width)} | {figure} | {target} | {verdict} |")
    return invariants.returncode


if __name__ == "__main__":
    sys.exit(main())
