"""Bench figure 12: the hot SKU while a webhook is subscribed.

A receiver on the loopback answers 200 and notes when each delivery arrives; Celery beat and
a worker run the dispatcher and deliver, as the Procfile's `beat` and `worker` do. The
webhook takes the stock events (stock.changed coalesced to one a second, the crossings);
commit to delivery is the arrival time less the event's `createdAt` (its ledger entry's
time, taken in the statement that commits it).
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOCK_EVENTS = ["stock.changed", "stock.out_of_stock", "stock.back_in_stock", "stock.low"]


class Subscribed:
    """A receiver, its webhook row, and beat and a worker delivering to it, until stop()."""

    def __init__(self, *, root, env: dict, psql) -> None:
        self.delays: list[float] = []
        delays = self.delays

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                created = datetime.fromisoformat(body["createdAt"]).timestamp()
                delays.append(time.time() - created)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        psql(
            "DELETE FROM integrations_delivery", "DELETE FROM integrations_webhook",
            "INSERT INTO integrations_webhook (url, events, secret, created_at) VALUES "
            f"('{url}', '{json.dumps(STOCK_EVENTS)}', '{uuid.uuid4().hex}', now())",
        )  # fmt: skip
        queue = f"stockd-bench-{uuid.uuid4().hex}"
        worker_env = {
            **env,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        }
        celery = [sys.executable, "-m", "celery", "-A", "stockd"]
        self.processes = [
            subprocess.Popen(
                [*celery, "worker", "--pool", "solo", "-Q", queue, "--loglevel", "WARNING"],
                cwd=root, env=worker_env, start_new_session=True,
            ),
            subprocess.Popen(
                [*celery, "beat", "--loglevel", "WARNING", "-s", f"/tmp/{queue}-schedule"],
                cwd=root, env=worker_env, start_new_session=True,
            ),
        ]  # fmt: skip
        time.sleep(5)  # beat's first pass, the worker's first task

    def settle(self, psql, timeout: float = 120) -> None:
        """Wait until what came before (a reset's burst of events) is delivered, then forget
        its delays: the figure is about the load that follows."""
        deadline = time.monotonic() + timeout
        time.sleep(2)  # the reset's entries reach a dispatcher pass
        while time.monotonic() < deadline:
            pending = psql("SELECT count(*) FROM integrations_delivery WHERE status = 'PENDING'")
            if pending.strip() == "0":
                break
            time.sleep(0.5)
        self.delays.clear()

    def p95_seconds(self) -> float:
        if len(self.delays) < 2:
            return float("nan")
        return statistics.quantiles(self.delays, n=20)[-1]

    def stop(self) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
        self.server.shutdown()
