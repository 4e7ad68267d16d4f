"""How many open stock streams one `stream` process holds, and what one costs in memory.

Starts the `stream` process as the Procfile runs it (gunicorn, one uvicorn worker, the ASGI
app) on a fresh local database with the seeded catalogue, then opens GET /events/stock/
streams in steps. At each step it reads the worker's resident memory and threads from /proc,
then makes ROUNDS stock changes (a reserve over HTTP) and times how long each takes to reach
every open stream. It stops at the last step or when a change takes longer than
MAX_DELIVERY_SECONDS to reach them all, and prints a table (numbers for docs/performance.md).

    .venv/bin/python bench/streams.py                   # steps 100 500 1000 2000 4000
    STREAM_STEPS="250 1000" .venv/bin/python bench/streams.py
    STREAM_APP=stockd.asgi:application .venv/bin/python bench/streams.py   # Django's plain handler

Everything runs on this machine (loopback only), bounded in connections and time.
"""

import asyncio
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("STREAM_BENCH_PORT", "8898"))
DATABASE_URL = os.environ.get(
    "STREAM_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stockd_stream_bench"
)
STEPS = [int(n) for n in os.environ.get("STREAM_STEPS", "100 500 1000 2000 4000").split()]
APP = os.environ.get("STREAM_APP", "stockd.asgi:application")
ROUNDS = int(os.environ.get("STREAM_ROUNDS", "5"))
MAX_DELIVERY_SECONDS = 5.0
CONNECT_BATCH = 100  # connections opened at once


def run(*command: str, **kwargs) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs).stdout


def prepare_database(env: dict[str, str]) -> None:
    base, name = DATABASE_URL.rsplit("/", 1)
    run(
        "psql",
        f"{base}/postgres",
        "-qc",
        f"DROP DATABASE IF EXISTS {name}",
        "-c",
        f"CREATE DATABASE {name}",
    )
    python = str(ROOT / ".venv/bin/python")
    run(python, "manage.py", "migrate", "-v0", cwd=ROOT, env=env)
    run(python, "manage.py", "seed", cwd=ROOT, env=env)
    # Every round holds a unit: give the rows enough for all of them.
    run("psql", DATABASE_URL, "-qc", "UPDATE inventory_inventory SET total_stock = 1000000")


def worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def memory_and_threads(pid: int) -> tuple[float, int]:
    """Return the process's resident memory in MiB and its thread count."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["VmRSS"].split()[0]) / 1024, int(status["Threads"])


def http(method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


class Stream:
    """One open GET /events/stock/ connection; it notes when each event id reaches it."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", PORT)
        self.writer.write(
            f"GET /events/stock/ HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"stream refused: {head[:200]!r}")
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        buffer = b""
        while chunk := await self.reader.read(65536):
            now = time.monotonic()
            buffer = buffer[-200:] + chunk
            start = 0
            while (found := buffer.find(b'"eventId":"', start)) != -1:
                end = buffer.find(b'"', found + 11)
                if end == -1:
                    break
                self.arrivals.setdefault(buffer[found + 11 : end].decode(), now)
                start = end
            buffer = buffer[start:]

    def close(self) -> None:
        if self.task:
            self.task.cancel()
        if self.writer:
            self.writer.close()


async def deliver_one_change(
    streams: list[Stream], product_id: str, warehouse_id: str
) -> list[float]:
    """Reserve one unit; return how long it took to reach each stream (seconds)."""
    # The message names the row's latest event id, unknown here: wait for a new arrival.
    seen_before = [len(stream.arrivals) for stream in streams]
    started = time.monotonic()
    held = await asyncio.to_thread(
        http,
        "POST",
        "/api/reservations",
        {"productId": product_id, "warehouseId": warehouse_id, "quantity": 1},
    )
    deadline = started + MAX_DELIVERY_SECONDS * 4
    while time.monotonic() < deadline:
        if all(len(s.arrivals) > n for s, n in zip(streams, seen_before, strict=True)):
            break
        await asyncio.sleep(0.01)
    missed = [s for s, n in zip(streams, seen_before, strict=True) if len(s.arrivals) <= n]
    if missed:
        ended = [s.task.exception() if s.task.done() else None for s in missed]
        print(f"  {len(missed)} streams missed the change; their readers: {ended[:3]}", flush=True)
    latest = [max(s.arrivals.values(), default=deadline) for s in streams]
    assert held["status"] == "PENDING"
    return [
        (arrival - started) if len(s.arrivals) > n else float("inf")
        for s, n, arrival in zip(streams, seen_before, latest, strict=True)
    ]


async def measure(pid: int) -> list[dict]:
    stock = http("GET", "/api/products?limit=1")
    product = (stock["items"] if isinstance(stock, dict) else stock)[0]
    product_id, warehouse_id = product["id"], product["inventory"][0]["warehouseId"]
    streams: list[Stream] = []
    results = []
    warm = Stream()
    await warm.open()
    warm.close()
    await asyncio.sleep(1)
    base_memory, base_threads = memory_and_threads(pid)
    results.append({"streams": 0, "rss": base_memory, "threads": base_threads})
    print(f"{APP}, 1 worker; baseline: {base_memory:.1f} MiB, {base_threads} threads", flush=True)
    for target in STEPS:
        opening = time.monotonic()
        while len(streams) < target:
            batch = [Stream() for _ in range(min(CONNECT_BATCH, target - len(streams)))]
            await asyncio.gather(*(stream.open() for stream in batch))
            streams.extend(batch)
        opened_in = time.monotonic() - opening
        await asyncio.sleep(2)
        rss, threads = memory_and_threads(pid)
        delays = []
        for _ in range(ROUNDS):
            delays.extend(await deliver_one_change(streams, product_id, warehouse_id))
            await asyncio.sleep(0.5)
        delays.sort()
        row = {
            "streams": target,
            "rss": rss,
            "threads": threads,
            "per_stream_kib": (rss - base_memory) * 1024 / target,
            "opened_in": opened_in,
            "p50": statistics.median(delays),
            "p99": delays[int(len(delays) * 0.99) - 1],
            "max": delays[-1],
        }
        results.append(row)
        print(
            f"{target:>5} streams: {rss:7.1f} MiB ({row['per_stream_kib']:.1f} KiB/stream), "
            f"{threads} threads, opened in {opened_in:.1f}s; change reaches all: "
            f"p50 {row['p50'] * 1000:.0f} ms, p99 {row['p99'] * 1000:.0f} ms, "
            f"max {row['max'] * 1000:.0f} ms",
            flush=True,
        )
        if row["max"] > MAX_DELIVERY_SECONDS:
            print(f"stopping: a change took over {MAX_DELIVERY_SECONDS}s to reach every stream")
            break
    for stream in streams:
        stream.close()
    return results


def main() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max(STEPS) + 1000  # the client and the server each hold one end of each stream
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, needed)), hard))
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": "bench",
        "DEBUG": "0",
        "HTTPS_ONLY": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "RESERVE_RATE_LIMIT": "",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    prepare_database(env)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            APP,
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                http("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        pid = worker_pid(server.pid)
        asyncio.run(measure(pid))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
