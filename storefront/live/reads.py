"""Reads a product's streams share in a process: each product's answer read at most once per
`refresh_seconds`, however many of its streams ask (a sale window, its preorder places)."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ProductReads(Generic[T]):
    """A process's answers of `read(product_id)`, each read again after `refresh_seconds` and
    shared by every stream of the product. `run` runs ORM code off the event loop (the hub's
    thread). A read that fails answers what was known before (None if nothing was)."""

    def __init__(
        self,
        run: Callable[..., Awaitable],
        read: Callable[[int], T],
        *,
        refresh_seconds: Callable[[], float],
        what: str,
    ) -> None:
        self._run, self._read_one, self._what = run, read, what
        self._refresh_seconds = refresh_seconds  # read at each use, so tests may shorten it
        self._known: dict[int, tuple[float, T | None]] = {}
        self._reading: dict[int, asyncio.Future] = {}

    async def of(self, product_id: int) -> T | None:
        known = self._known.get(product_id)
        if known is not None and time.monotonic() - known[0] < self._refresh_seconds():
            return known[1]
        reading = self._reading.get(product_id)
        if reading is None:
            reading = asyncio.ensure_future(self._read(product_id))
            self._reading[product_id] = reading
        # Shielded: a client that goes away cancels its own wait, not the others' read.
        return await asyncio.shield(reading)

    async def _read(self, product_id: int) -> T | None:
        try:
            answer = await self._run(self._read_one, product_id)
        except Exception:
            logger.exception("Reading the %s of product %s failed.", self._what, product_id)
            known = self._known.get(product_id)
            return None if known is None else known[1]
        finally:
            self._reading.pop(product_id, None)
        now, refresh = time.monotonic(), self._refresh_seconds()
        self._known = {pid: entry for pid, entry in self._known.items() if now - entry[0] < refresh}
        self._known[product_id] = (now, answer)
        return answer
