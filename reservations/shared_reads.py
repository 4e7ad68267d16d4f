"""Reads shared by the askers that arrive together, each still read after it asked.

Under a flash sale, hundreds of requests a second ask the same question of one stock row
(what is left?) or of one product (where is it stocked?). One read per request would make
the database answer each; one cached answer would hand a request a figure read before it
asked, which a release or restock in between may have made wrong. SharedReads sits between:
askers that arrive while a read of their key is in the database wait for the next read,
which starts once that one is answered, so each is answered by a read sent after it asked,
and a busy key costs one read per round trip.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedReads(Generic[K, V]):
    """`await reads(key)`: `read(key)`'s answer, shared as the module docstring says.

    Use it from one event loop (the coalescer's).
    """

    def __init__(self, read: Callable[[K], Awaitable[V]]) -> None:
        self._read = read
        self._running: dict[K, asyncio.Future] = {}
        self._next: dict[K, asyncio.Future] = {}

    async def __call__(self, key: K) -> V:
        following = self._next.get(key)
        if following is None:
            following = asyncio.get_running_loop().create_future()
            self._next[key] = following
            asyncio.ensure_future(self._read_after_running(key, following))
        return await asyncio.shield(following)

    async def _read_after_running(self, key: K, result: asyncio.Future) -> None:
        running = self._running.get(key)
        if running is not None:
            await asyncio.wait([running])
        del self._next[key]  # who asks from now on waits for the read after this one
        self._running[key] = result
        try:
            result.set_result(await self._read(key))
        except asyncio.CancelledError:
            result.cancel()  # its askers are cancelled too, never left waiting
            raise
        except Exception as error:
            result.set_exception(error)
        finally:
            del self._running[key]
