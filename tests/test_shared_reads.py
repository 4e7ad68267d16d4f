"""SharedReads: askers that arrive together share one read, never one sent before they asked."""

import asyncio

from reservations.shared_reads import SharedReads


class _Stock:
    """A figure that changes, read by reads that each wait for `answer` before answering."""

    def __init__(self, figure: int) -> None:
        self.figure = figure
        self.sent: list[int] = []  # the figure each read saw, in the order they were sent
        self.answer = asyncio.Event()

    async def read(self, key: str) -> int:
        self.sent.append(self.figure)
        await self.answer.wait()
        if self.figure < 0:
            raise ConnectionError("the database went away")
        return self.sent[-1]


async def _until_sent(stock: _Stock, count: int) -> None:
    while len(stock.sent) < count:
        await asyncio.sleep(0)


def test_askers_together_share_one_read_and_a_later_asker_waits_for_the_next():
    async def scenario():
        stock = _Stock(5)
        reads = SharedReads(stock.read)
        together = [asyncio.ensure_future(reads("row")) for _ in range(20)]
        await _until_sent(stock, 1)
        stock.figure = 9  # changed after the first read was sent: a later asker must see it
        later = asyncio.ensure_future(reads("row"))
        stock.answer.set()
        return await asyncio.gather(*together), await later, stock.sent

    together, later, sent = asyncio.run(scenario())
    assert together == [5] * 20
    assert later == 9
    assert sent == [5, 9]


def test_a_failed_read_fails_its_askers_and_the_next_asker_reads_again():
    async def scenario():
        stock = _Stock(-1)
        reads = SharedReads(stock.read)
        together = [asyncio.ensure_future(reads("row")) for _ in range(3)]
        stock.answer.set()
        failed = await asyncio.gather(*together, return_exceptions=True)
        stock.figure = 4
        return failed, await reads("row")

    failed, after = asyncio.run(scenario())
    assert all(isinstance(error, ConnectionError) for error in failed)
    assert after == 4


def test_keys_are_read_apart():
    async def scenario():
        stock = _Stock(1)
        stock.answer.set()
        reads = SharedReads(lambda key: stock.read(key))
        return await asyncio.gather(reads("a"), reads("b")), len(stock.sent)

    assert asyncio.run(scenario()) == ([1, 1], 2)
