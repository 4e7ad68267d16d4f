"""`make chaos`: mixed load on the production stack while its parts fail, then the reckoning.

It makes a fresh database (migrated, seeded; bench/run.py's helpers), starts the Procfile's
`web` process on it (gunicorn, 2 uvicorn workers, DEBUG off, no rate limit) with a Redis server
of its own on a free port (so the machine's Redis stays up), and a sweeper (`manage.py expire
--every CHAOS_SWEEP_SECONDS`) with holds that live CHAOS_TTL_SECONDS. Then CHAOS_CLIENTS
asyncio clients send CHAOS_OPERATIONS mixed operations over HTTP: reserve (with and without
Idempotency-Key, routed or not), batch (carts, keyed or not), confirm, release, extend, cart
confirm and release, and replays of finished keyed requests (same key, same body). Keyed
requests, confirm and release are retried on a 503, on IDEMPOTENCY_KEY_IN_USE and when no
answer came; every attempt is recorded (status, code, ids in the body, its X-Request-ID).

Faults during the load:
  - PostgreSQL: pg_terminate_backend on every backend of the chaos database, every
    CHAOS_TERMINATE_SECONDS (the stack's pools, the coalescer's and the sweeper's);
  - Redis: the chaos Redis is stopped at 20% of the operations and started again at 40%;
  - a web worker is killed with SIGKILL at 60% (gunicorn starts another);
  - sweeps: the sweeper throughout, and GET /api/cron/expire every CHAOS_CRON_SECONDS.

Afterwards, on the database (each request's X-Request-ID is in its events' payload, so every
hold is traced to the attempt that made it):
  - `manage.py check_invariants` passes;
  - no PENDING hold due when the load ended is still PENDING one sweep interval later;
  - every reservation a 201 named exists, and every 201 named exactly the holds its request
    made; a confirm or release answered 200 left its holds CONFIRMED or RELEASED;
  - each Idempotency-Key made holds in at most one request, and replays answered as the first;
  - no request answered with an error (4xx, 503) made a hold;
  - the only 5xx is 503 with Retry-After (any 500 fails).
It prints a table of the outcomes (operation x answer) and what the faults did, and exits 1 if
a check fails. Logs of the web process, the sweeper and Redis are under CHAOS_LOG_DIR.

Settings (environment): CHAOS_OPERATIONS (10000), CHAOS_CLIENTS (64), CHAOS_PORT (8896),
CHAOS_DATABASE_URL (postgres://postgres@127.0.0.1:5432/stockd_chaos), CHAOS_TTL_SECONDS (5),
CHAOS_SWEEP_SECONDS (2), CHAOS_TERMINATE_SECONDS (3), CHAOS_CRON_SECONDS (2),
CHAOS_PRODUCTS (4 products x every warehouse are the rows in play), CHAOS_STOCK (30 units
each), CHAOS_SEED (random), CHAOS_MAX_SECONDS (900: the load is cancelled, and fails, past it),
CHAOS_LOG_DIR (var/chaos), WEB_CONCURRENCY (2).
"""

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psycopg

OPERATIONS = int(os.environ.get("CHAOS_OPERATIONS", "10000"))
CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "64"))
PORT = int(os.environ.get("CHAOS_PORT", "8896"))
DATABASE_URL = os.environ.get(
    "CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stockd_chaos"
)
TTL_SECONDS = int(os.environ.get("CHAOS_TTL_SECONDS", "5"))
SWEEP_SECONDS = int(os.environ.get("CHAOS_SWEEP_SECONDS", "2"))
TERMINATE_SECONDS = float(os.environ.get("CHAOS_TERMINATE_SECONDS", "3"))
CRON_SECONDS = float(os.environ.get("CHAOS_CRON_SECONDS", "2"))
PRODUCTS = int(os.environ.get("CHAOS_PRODUCTS", "4"))
STOCK = int(os.environ.get("CHAOS_STOCK", "30"))
SEED = int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000))
MAX_SECONDS = float(os.environ.get("CHAOS_MAX_SECONDS", "900"))
CRON_SECRET = "chaos-cron-secret"
MAX_ATTEMPTS = 6  # of a retried operation
REQUEST_TIMEOUT = 30.0
# When the faults strike, as fractions of the operations sent.
REDIS_STOP_AT, REDIS_START_AT, WORKER_KILL_AT = 0.2, 0.4, 0.6

# bench/run.py reads its database and port when imported: point them at chaos's own.
os.environ["BENCH_DATABASE_URL"] = DATABASE_URL
os.environ["BENCH_PORT"] = str(PORT)
import run as bench  # noqa: E402  (bench/run.py: the database, the Procfile's web process)

ROOT = bench.ROOT
LOGS = Path(os.environ.get("CHAOS_LOG_DIR") or ROOT / "var" / "chaos")
BASE_URL = f"http://127.0.0.1:{PORT}"
MAINTENANCE_URL = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
DATABASE_NAME = DATABASE_URL.rsplit("/", 1)[1]

# Operations and their weights in the mix.
MIX = {
    "reserve": 20,
    "reserve+key": 12,
    "reserve routed": 4,
    "batch": 5,
    "batch+key": 6,
    "confirm": 9,
    "confirm+key": 6,
    "release": 10,
    "extend": 8,
    "cart confirm": 3,
    "cart release": 3,
    "replay+key": 14,
}
# Operations retried (same request, same key) on a 503, on no answer, on IDEMPOTENCY_KEY_IN_USE:
# keyed ones, and those the API answers the same when repeated (confirm, release).
RETRIED = {
    "reserve+key",
    "batch+key",
    "confirm",
    "confirm+key",
    "release",
    "cart confirm",
    "cart release",
    "replay+key",
    "cron",
}


# --- what the clients saw --------------------------------------------------------------------


@dataclass
class Attempt:
    op: str
    number: int  # the operation's number
    attempt: int  # 1, then its retries
    request_id: str
    key: str | None
    status: int | None  # None: no answer (connection dropped, timed out)
    code: str | None = None
    replayed: bool = False
    retry_after: bool = False
    ids: tuple[str, ...] = ()  # reservation ids named by a 2xx body
    cart_id: str | None = None
    error: str | None = None  # why no answer came
    at: float = 0.0  # seconds since the load started
    seconds: float = 0.0  # until the answer (or the error)

    @property
    def answer(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        text = str(self.status)
        if self.code:
            text += f" {self.code}"
        if self.replayed:
            text += " (replayed)"
        if self.status >= 500 and not self.retry_after:
            text += " without Retry-After"
        return text


@dataclass
class Finished:
    """A keyed request that got a final answer, to be replayed later."""

    key: str
    op: str
    path: str
    body: dict
    status: int
    ids: tuple[str, ...]


@dataclass
class Faults:
    terminations: list[tuple[float, int]] = field(default_factory=list)  # (at, backends)
    redis_down: list[float] = field(default_factory=list)
    redis_up: list[float] = field(default_factory=list)
    killed: list[tuple[float, int]] = field(default_factory=list)  # (at, pid)
    worker_back_after: float | None = None


class Load:
    def __init__(self, http: httpx.AsyncClient, rows: list[tuple[int, int]], web, redis) -> None:
        self.http, self.rows, self.web, self.redis = http, rows, web, redis
        self.attempts: list[Attempt] = []
        self.replay_mismatches: list[str] = []
        self.faults = Faults()
        self.sent = 0  # operations started (the mix, not the cron calls)
        self.started = time.monotonic()
        self.done = asyncio.Event()

    def now(self) -> float:
        return time.monotonic() - self.started

    def say(self, what: str) -> None:
        print(f"  {self.now():6.1f} s  {self.sent:>6,} operations sent  {what}", flush=True)

    # -- one HTTP attempt --------------------------------------------------------------------

    async def send(
        self, op: str, number: int, attempt: int, method: str, path: str, body=None, key=None
    ) -> Attempt:
        request_id = f"chaos-{number}-{attempt}"
        headers = {"X-Request-ID": request_id}
        if key is not None:
            headers["Idempotency-Key"] = key
        if op == "cron":
            headers["x-cron-secret"] = CRON_SECRET
        record = Attempt(op, number, attempt, request_id, key, None, at=self.now())
        try:
            response = await self.http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as error:
            record.error = type(error).__name__
            record.seconds = self.now() - record.at
            self.attempts.append(record)
            return record
        record.seconds = self.now() - record.at
        record.status = response.status_code
        record.replayed = response.headers.get("Idempotent-Replayed") == "true"
        record.retry_after = "Retry-After" in response.headers
        try:
            data = response.json()
        except ValueError:
            data = None
            record.code = "NOT_JSON"
        if isinstance(data, dict):
            if record.status >= 400:
                record.code = data.get("code") or data.get("error")
            else:
                record.ids, record.cart_id = _ids(data)
        self.attempts.append(record)
        return record

    async def call(
        self, op: str, number: int, method: str, path: str, body=None, key=None
    ) -> Attempt:
        """Send once, or, for a retried operation, until an answer that is not a fault."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            record = await self.send(op, number, attempt, method, path, body, key)
            if op not in RETRIED or not _worth_retrying(record):
                return record
            await asyncio.sleep(0.2 if record.status is None else 1.0)
        return record

    # -- the clients -------------------------------------------------------------------------

    async def client(self, rng: random.Random) -> None:
        holds: list[str] = []
        carts: list[str] = []
        finished: list[Finished] = []
        names, weights = list(MIX), list(MIX.values())
        while self.sent < OPERATIONS:
            self.sent += 1
            number = self.sent
            op = rng.choices(names, weights)[0]
            if op in {"confirm", "confirm+key", "release", "extend"} and not holds:
                op = "reserve"
            if op in {"cart confirm", "cart release"} and not carts:
                op = "batch"
            if op == "replay+key" and not finished:
                op = "reserve+key"
            await self.operation(op, number, rng, holds, carts, finished)

    async def operation(self, op, number, rng, holds, carts, finished) -> None:
        key = f"chaos-{SEED}-{number}" if op.endswith("+key") and op != "replay+key" else None
        if op in {"reserve", "reserve+key", "reserve routed"}:
            product, warehouse = rng.choice(self.rows)
            body = {"productId": str(product), "quantity": rng.choice((1, 1, 1, 2, 3))}
            if op == "reserve routed":
                body |= {"lat": 12.97 + rng.uniform(-3, 3), "lng": 77.59 + rng.uniform(-3, 3)}
            else:
                body["warehouseId"] = warehouse
            path = "/api/reservations"
            record = await self.call(op, number, "POST", path, body, key)
            if record.status == 201:
                holds.extend(record.ids)
        elif op in {"batch", "batch+key"}:
            lines = rng.sample(self.rows, rng.choice((2, 2, 3)))
            body = {
                "items": [
                    {"productId": p, "warehouseId": str(w), "quantity": rng.choice((1, 2))}
                    for p, w in lines
                ]
            }
            path = "/api/reservations/batch"
            record = await self.call(op, number, "POST", path, body, key)
            if record.status == 201 and record.cart_id:
                carts.append(record.cart_id)
        elif op in {"confirm", "confirm+key", "release"}:
            hold = holds.pop(rng.randrange(len(holds)))
            action = "release" if op == "release" else "confirm"
            path, body = f"/api/reservations/{hold}/{action}", None
            record = await self.call(op, number, "POST", path, None, key)
        elif op == "extend":
            hold = rng.choice(holds)
            record = await self.call(op, number, "POST", f"/api/reservations/{hold}/extend")
            return
        elif op in {"cart confirm", "cart release"}:
            cart = carts.pop(rng.randrange(len(carts)))
            action = op.split()[1]
            record = await self.call(op, number, "POST", f"/api/carts/{cart}/{action}")
            return
        else:  # replay+key: a finished keyed request again, same key and body
            first = rng.choice(finished)
            record = await self.call(op, number, "POST", first.path, first.body, first.key)
            if not _worth_retrying(record) and (record.status, record.ids) != (
                first.status,
                first.ids,
            ):
                self.replay_mismatches.append(
                    f"key {first.key} ({first.op}): first {first.status} {first.ids}, "
                    f"replay {record.status} {record.ids} {record.code or ''}"
                )
            return
        if key is not None and not _worth_retrying(record) and record.status < 500:
            finished.append(Finished(key, op, path, body, record.status, record.ids))

    # -- the faults --------------------------------------------------------------------------

    async def faults_loop(self, admin: psycopg.Connection) -> None:
        next_termination = TERMINATE_SECONDS
        next_cron = CRON_SECONDS
        cron_number = 0
        killed_pid = None
        tasks: set[asyncio.Task] = set()
        while not self.done.is_set():
            await asyncio.sleep(0.1)
            progress, now = self.sent / OPERATIONS, self.now()
            if progress >= REDIS_STOP_AT and not self.faults.redis_down:
                await asyncio.to_thread(self.redis.stop)
                self.faults.redis_down.append(self.now())
                self.say("Redis stopped")
            if progress >= REDIS_START_AT and not self.faults.redis_up:
                await asyncio.to_thread(self.redis.start)
                self.faults.redis_up.append(self.now())
                self.say("Redis started again")
            if progress >= WORKER_KILL_AT and not self.faults.killed:
                killed_pid = self.web.workers()[0]
                os.kill(killed_pid, signal.SIGKILL)
                self.faults.killed.append((self.now(), killed_pid))
                self.say(f"web worker {killed_pid} killed (SIGKILL)")
            if killed_pid and self.faults.worker_back_after is None:
                workers = self.web.workers()
                if len(workers) >= bench.WORKERS and killed_pid not in workers:
                    self.faults.worker_back_after = self.now() - self.faults.killed[0][0]
            if now >= next_termination:
                next_termination = now + TERMINATE_SECONDS
                killed = await asyncio.to_thread(terminate_backends, admin)
                self.faults.terminations.append((self.now(), killed))
            if now >= next_cron:
                next_cron = now + CRON_SECONDS
                cron_number -= 1  # cron calls are numbered below zero
                task = asyncio.create_task(
                    self.call("cron", cron_number, "GET", "/api/cron/expire")
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)


def _ids(data: dict) -> tuple[tuple[str, ...], str | None]:
    """The reservation ids (and cart id) a 2xx body names."""
    if "reservations" in data:  # a cart
        return tuple(r["id"] for r in data["reservations"]), data.get("cartId")
    if "reservation" in data:  # a release
        return (data["reservation"]["id"],), None
    if "id" in data:
        return (data["id"],), None
    return (), None


def _worth_retrying(record: Attempt) -> bool:
    return (
        record.status is None
        or record.status == 503
        or (record.status == 409 and record.code == "IDEMPOTENCY_KEY_IN_USE")
    )


# --- the stack --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A redis-server of chaos's own, without persistence, that can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with (LOGS / "redis.log").open("a") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise RuntimeError("the chaos Redis did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr to `path` while children started here inherit them."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def terminate_backends(admin: psycopg.Connection) -> int:
    """pg_terminate_backend every backend of the chaos database (and no other); return how many."""
    rows = admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        [DATABASE_NAME],
    ).fetchall()
    return sum(1 for (done,) in rows if done)


def rows_in_play() -> list[tuple[int, int]]:
    """Give PRODUCTS products STOCK units in every warehouse; return those stock rows."""
    bench.psql(
        "TRUNCATE inventory_ledgerentry",
        f"UPDATE inventory_inventory SET total_stock = {STOCK}"
        " WHERE product_id IN (SELECT id FROM inventory_product WHERE active"
        f" ORDER BY id LIMIT {PRODUCTS})",
        bench.COUNTED_AGAIN_SQL,
    )
    out = bench.psql(
        "SELECT product_id, warehouse_id FROM inventory_inventory"
        " WHERE product_id IN (SELECT id FROM inventory_product WHERE active"
        f" ORDER BY id LIMIT {PRODUCTS}) ORDER BY id"
    )
    return [tuple(map(int, line.split("|"))) for line in out.split()]


# --- the reckoning ----------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    failures: list[str]
    figure: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures


def _action(op: str) -> str:
    """confirm, release, ... of an operation's name (cart confirm, confirm+key: confirm)."""
    return op.removeprefix("cart ").removesuffix("+key")


def reckon(load: Load, db: psycopg.Connection, overdue: list, invariants) -> list[Check]:
    attempts = load.attempts
    statuses = dict(db.execute("SELECT id::text, status FROM reservations_reservation").fetchall())
    made_by: dict[str, set[str]] = defaultdict(set)  # request id -> reservation ids
    for reservation_id, request_id in db.execute(
        "SELECT reservation_id::text, payload->>'requestId' FROM reservations_reservationevent"
        " WHERE type = 'RESERVED'"
    ):
        made_by[request_id].add(reservation_id)
    checks = []

    lines = (invariants.stdout + invariants.stderr).strip().splitlines()
    checks.append(
        Check(
            "manage.py check_invariants passes",
            [] if invariants.returncode == 0 else lines,
            lines[0] if lines else "",
        )
    )

    checks.append(
        Check(
            f"no hold due at the end is PENDING {SWEEP_SECONDS} s (one sweep interval) later",
            [f"{r} due {e:%H:%M:%S.%f}" for r, e in overdue],
            f"{len(overdue)} overdue",
        )
    )

    named = {i for a in attempts if a.status == 201 for i in a.ids}
    missing = sorted(named - statuses.keys())
    checks.append(
        Check(
            "every reservation a 201 named exists",
            missing,
            f"{len(named)} reservations named by 201s",
        )
    )

    wrong = []
    for a in attempts:
        if a.status == 201 and not a.replayed and set(a.ids) != made_by.get(a.request_id, set()):
            wrong.append(f"{a.request_id} ({a.op}): answered {a.ids}, made {made_by[a.request_id]}")
    checks.append(Check("every 201 named exactly the holds its request made", wrong))

    final = {"confirm": "CONFIRMED", "release": "RELEASED"}
    lost = []
    for a in attempts:
        action = _action(a.op)
        if a.status == 200 and action in final:
            for reservation_id in a.ids:
                if statuses.get(reservation_id) != final[action]:
                    lost.append(
                        f"{a.request_id} ({a.op}) answered 200, {reservation_id} is "
                        f"{statuses.get(reservation_id)}"
                    )
    answered = sum(1 for a in attempts if a.status == 200 and _action(a.op) in final)
    checks.append(
        Check(
            "a confirm or release answered 200 left its holds CONFIRMED or RELEASED",
            lost,
            f"{answered} answers",
        )
    )

    by_key: dict[str, set[str]] = defaultdict(set)  # key -> request ids that made holds
    for a in attempts:
        if a.key is not None and made_by.get(a.request_id):
            by_key[a.key].add(a.request_id)
    twice = [f"key {k}: holds made by {sorted(r)}" for k, r in by_key.items() if len(r) > 1]
    keys = {a.key for a in attempts if a.key is not None}
    checks.append(
        Check(
            "each Idempotency-Key made holds in at most one request",
            twice,
            f"{len(keys)} keys, {len(by_key)} made holds",
        )
    )
    checks.append(
        Check(
            "a replay answered as the first request (status and reservation ids)",
            load.replay_mismatches,
            f"{sum(1 for a in attempts if a.op == 'replay+key')} replay attempts",
        )
    )

    phantom = [
        f"{a.request_id} ({a.op}) answered {a.answer} but made {sorted(made_by[a.request_id])}"
        for a in attempts
        if a.status is not None and a.status != 201 and made_by.get(a.request_id)
    ]
    checks.append(Check("no request answered with an error made a hold", phantom))

    errors = Counter(a.answer for a in attempts if a.status is not None and a.status >= 500)
    bad = [f"{n} x {answer}" for answer, n in errors.items() if not answer.startswith("503 ")]
    bad += [f"{n} x {a}" for a, n in errors.items() if a.endswith("without Retry-After")]
    checks.append(
        Check(
            "the only 5xx is 503 with Retry-After (no 500)",
            bad,
            ", ".join(f"{n} x {a}" for a, n in sorted(errors.items())) or "no 5xx",
        )
    )
    return checks


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _latency(attempts: list[Attempt]) -> str:
    seconds = [a.seconds for a in attempts]
    return f"{_percentile(seconds, 0.5) * 1000:.0f} / {_percentile(seconds, 0.99) * 1000:.0f}"


def outcome_table(attempts: list[Attempt]) -> str:
    """Operations and their attempts by answer; latency (ms, p50 / p99) of each operation's."""
    counts = Counter((a.op, a.answer) for a in attempts)
    operations = Counter(a.op for a in attempts if a.attempt == 1)
    order = [*MIX, "cron"]
    lines = [
        "| operation | operations | ms p50 / p99 | answer | attempts |",
        "|---|---:|---:|---|---:|",
    ]
    for op in order:
        answers = sorted((answer, n) for (o, answer), n in counts.items() if o == op)
        latency = _latency([a for a in attempts if a.op == op])
        for i, (answer, n) in enumerate(answers):
            first = (op, f"{operations[op]:,}", latency) if i == 0 else ("", "", "")
            lines.append(f"| {' | '.join(first)} | {answer} | {n:,} |")
    mix = [a for a in attempts if a.op != "cron"]
    total = sum(1 for a in mix if a.attempt == 1)
    lines.append(f"| all but cron | {total:,} | {_latency(mix)} | | {len(mix):,} |")
    return "\n".join(lines)


def fault_summary(load: Load, sweeper_log: Path) -> str:
    faults, attempts = load.faults, load.attempts
    struck = sum(  # 503s of requests in flight when a round of terminations struck
        1
        for a in attempts
        if a.status == 503 and any(a.at <= t <= a.at + a.seconds for t, _ in faults.terminations)
    )
    unavailable = sum(1 for a in attempts if a.status == 503)
    down = faults.redis_down[0] if faults.redis_down else None
    up = faults.redis_up[0] if faults.redis_up else None
    while_down = [a for a in attempts if down is not None and up is not None and down <= a.at < up]
    kill_at, pid = faults.killed[0] if faults.killed else (None, None)
    # In flight when the worker died: sent before, no answer after.
    near_kill = [
        a
        for a in attempts
        if a.status is None and kill_at is not None and a.at <= kill_at <= a.at + a.seconds + 1
    ]
    no_answer = sum(1 for a in attempts if a.status is None)
    log = sweeper_log.read_text() if sweeper_log.exists() else ""
    sweeps = len(re.findall(r"^Released (\d+)", log, re.M))
    swept = sum(map(int, re.findall(r"^Released (\d+)", log, re.M)))
    failed_sweeps = log.count("The sweep failed")
    cron = [a for a in attempts if a.op == "cron"]
    rows = [
        (
            f"pg_terminate_backend every {TERMINATE_SECONDS:g} s",
            f"{len(faults.terminations)} rounds, "
            f"{sum(n for _, n in faults.terminations)} backends terminated; {unavailable} x 503 "
            f"in all, {struck} of them to requests in flight when a round struck",
        ),
        (
            "chaos Redis stopped, then started",
            f"down from {down or 0:.1f} s to {up or 0:.1f} s: {len(while_down)} attempts "
            f"answered {Counter(a.status for a in while_down).most_common()}",
        ),
        (
            "SIGKILL of a web worker",
            f"pid {pid} at {kill_at or 0:.1f} s; {len(near_kill)} attempts in flight got no "
            f"answer (of {no_answer} without an answer in all); gunicorn had a new worker after "
            + (
                f"{faults.worker_back_after:.1f} s"
                if faults.worker_back_after is not None
                else "(not seen)"
            ),
        ),
        (
            f"sweeper (expire --every {SWEEP_SECONDS})",
            f"{sweeps} sweeps released {swept} holds; {failed_sweeps} sweeps failed (logged, "
            "went on)",
        ),
        (
            f"GET /api/cron/expire every {CRON_SECONDS:g} s",
            f"{len(cron)} calls: {Counter(a.answer for a in cron).most_common()}",
        ),
    ]
    lines = ["| fault | what it did |", "|---|---|"]
    lines += [f"| {name} | {what} |" for name, what in rows]
    return "\n".join(lines)


# --- the run ----------------------------------------------------------------------------------


async def drive(rows, web, redis) -> Load:
    limits = httpx.Limits(max_connections=CLIENTS, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=BASE_URL, timeout=REQUEST_TIMEOUT, limits=limits) as http:
        load = Load(http, rows, web, redis)
        with await asyncio.to_thread(psycopg.connect, MAINTENANCE_URL, autocommit=True) as admin:
            faults = asyncio.create_task(load.faults_loop(admin))
            rng = random.Random(SEED)
            clients = [load.client(random.Random(rng.random())) for _ in range(CLIENTS)]
            try:
                await asyncio.wait_for(asyncio.gather(*clients), MAX_SECONDS)
            finally:
                load.done.set()
                await faults
    return load


def write_attempts(attempts: list[Attempt], path: Path) -> None:
    """Every attempt, one JSON object a line, for a closer look."""
    with path.open("w") as file:
        for a in attempts:
            file.write(json.dumps(asdict(a)) + "\n")


def main() -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    metrics = LOGS / "prometheus"  # prometheus_client's files for every process started here
    metrics.mkdir(exist_ok=True)
    for stale in metrics.glob("*.db"):
        stale.unlink()
    for name in ("web.log", "sweeper.log", "redis.log"):
        (LOGS / name).write_text("")
    bench.ENV.update(
        {
            "RESERVATION_TTL_SECONDS": str(TTL_SECONDS),
            "CRON_SECRET": CRON_SECRET,
            "RESERVE_RATE_LIMIT": "",
            "VAR_DIR": str(LOGS / "var"),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "LOG_LEVEL": "WARNING",
        }
    )
    print(
        f"# stockd chaos: {OPERATIONS:,} operations, {CLIENTS} clients, seed {SEED}; "
        f"holds live {TTL_SECONDS} s, swept every {SWEEP_SECONDS} s",
        flush=True,
    )
    print("A fresh database (migrate, seed) ...", flush=True)
    bench.prepare_database()
    rows = rows_in_play()
    print("The stack: web (Procfile), its own Redis, the sweeper ...", flush=True)
    redis = Redis()
    bench.ENV["REDIS_URL"] = redis.url
    sweeper = None
    web = None
    try:
        with output_to(LOGS / "web.log"):
            web = bench.Web()
        with (LOGS / "sweeper.log").open("a") as log:
            sweeper = subprocess.Popen(
                [bench.PYTHON, "manage.py", "expire", "--every", str(SWEEP_SECONDS)],
                cwd=ROOT,
                env=bench.ENV,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        print(f"The load, faults striking (web log: {LOGS / 'web.log'}) ...", flush=True)
        started = time.monotonic()
        try:
            load = asyncio.run(drive(rows, web, redis))
        except TimeoutError:
            print(f"The load did not finish in {MAX_SECONDS:.0f} s.")
            return 1
        seconds = time.monotonic() - started
        if redis.process.poll() is not None:  # the load ended before Redis was started again
            redis.start()
        with psycopg.connect(DATABASE_URL, autocommit=True) as db:
            load_ended = db.execute("SELECT now()").fetchone()[0]
            time.sleep(SWEEP_SECONDS + 1)  # one sweep interval, and a second for the sweep
            overdue = db.execute(
                "SELECT id::text, expires_at FROM reservations_reservation"
                " WHERE status = 'PENDING' AND expires_at <= %s",
                [load_ended],
            ).fetchall()
            invariants = subprocess.run(
                [bench.PYTHON, "manage.py", "check_invariants"],
                cwd=ROOT,
                env=bench.ENV,
                capture_output=True,
                text=True,
            )
            checks = reckon(load, db, overdue, invariants)
    finally:
        if sweeper is not None:
            sweeper.terminate()
            sweeper.wait(timeout=30)
        if web is not None:
            web.stop()
        redis.stop()

    operations = sum(1 for a in load.attempts if a.attempt == 1 and a.op != "cron")
    print(
        f"\n{operations:,} operations ({len(load.attempts):,} HTTP attempts with retries and "
        f"cron calls) in {seconds:.1f} s over {len(rows)} stock rows of {STOCK} units\n"
    )
    write_attempts(load.attempts, LOGS / "attempts.jsonl")
    print(outcome_table(load.attempts))
    print()
    print(fault_summary(load, LOGS / "sweeper.log"))
    print()
    for check in checks:
        mark = "PASS" if check.passed else "FAIL"
        print(f"{mark}  {check.name}" + (f": {check.figure}" if check.figure else ""))
        for failure in check.failures[:10]:
            print(f"      {failure}")
        if len(check.failures) > 10:
            print(f"      ... and {len(check.failures) - 10} more")
    print(f"\nLogs: {LOGS}/ (web.log, sweeper.log, redis.log, attempts.jsonl)")
    return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
