"""Holds per second of the coalescer without HTTP: CALLERS async callers of the hold service
(reservations.services.holds.areserve) on one row for SECONDS; prints one JSON line.

    DATABASE_URL=... .venv/bin/python bench/coalescer.py PRODUCT_ID WAREHOUSE_ID
"""

import asyncio
import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from reservations import coalescer  # noqa: E402
from reservations.metrics import COALESCED_BATCH_SIZE  # noqa: E402
from reservations.services import holds  # noqa: E402

CALLERS = int(os.environ.get("BENCH_CLIENTS", "64"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))


async def main(product_id: int, warehouse_id: int) -> dict:
    coalescer.get().use_running_loop()  # as the ASGI server's loop: callers and batches share it
    held = 0
    deadline = time.monotonic() + SECONDS

    async def caller() -> None:
        nonlocal held
        while time.monotonic() < deadline:
            await holds.areserve(product_id=product_id, warehouse_id=warehouse_id, quantity=1)
            held += 1

    started = time.monotonic()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    elapsed = time.monotonic() - started
    samples = [s for m in COALESCED_BATCH_SIZE.collect() for s in m.samples]
    batches = sum(s.value for s in samples if s.name.endswith("_count"))
    return {"holds_per_second": held / elapsed, "mean_batch": held / batches if batches else 0}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))))
