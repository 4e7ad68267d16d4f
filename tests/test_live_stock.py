"""Live stock over Server-Sent Events: GET /events/stock/, the feed it reads and the hub.

The stream is read through Django's AsyncClient (the ASGI path, the one production serves)
in an event loop of the test's own. The hub reads on a thread of its own with its own
database connection, so these tests commit what they write (transaction=True).
"""

import asyncio
import json
import threading
from collections.abc import AsyncIterator

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections, transaction
from django.test import AsyncClient, Client

from integrations.feed import Cursor
from inventory.models import LedgerEntry
from reservations.services import holds, stock, transitions
from storefront.live import feed, hub
from storefront.views import events as events_view
from tests.dispatching import position_of, settled_position
from tests.factories import InventoryFactory, WarehouseFactory
from tests.ledger_sql import one_unit_sql

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = "/events/stock/"
WAIT_SECONDS = 10  # only a broken stream waits this long


@pytest.fixture(autouse=True)
def fast_hub(monkeypatch):
    monkeypatch.setattr(hub, "POLL_SECONDS", 0.05)


@pytest.fixture
def row():
    return InventoryFactory(total_stock=10)


class SSEReader:
    """Read an event stream's blocks ("field: value" lines ending with a blank line)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = ""

    async def block(self) -> dict[str, str]:
        """Return the next block's fields; a comment line comes back as {"comment": ...}."""
        while "\n\n" not in self.buffer:
            chunk = await asyncio.wait_for(anext(self.chunks), WAIT_SECONDS)
            self.buffer += chunk.decode()
        text, self.buffer = self.buffer.split("\n\n", 1)
        fields: dict[str, str] = {}
        for line in text.split("\n"):
            name, _, value = line.partition(":")
            fields["comment" if name == "" else name] = value.strip()
        return fields

    async def message(self) -> dict[str, str]:
        """Return the next block that carries data (skipping preamble and heartbeats)."""
        while True:
            block = await self.block()
            if "data" in block:
                return block


async def open_stream(path: str = STREAM, **headers: str) -> tuple[SSEReader, dict]:
    """Open a stream once every change committed so far is final to the feed (another
    xdist worker's open transaction holds the feed back a moment): a stream starting from
    now starts past them all."""
    await sync_to_async(settled_position)()
    response = await AsyncClient().get(path, headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    return SSEReader(aiter(response.streaming_content)), response


def data_of(block: dict[str, str]) -> dict:
    return json.loads(block["data"])


def run(scenario) -> None:
    """Run an async scenario in a fresh event loop; close its hub and connections after."""

    async def wrapped():
        try:
            await scenario()
        finally:
            await hub.hub_for_this_loop().close()
            await sync_to_async(connections.close_all)()

    asyncio.run(wrapped())


reserve = sync_to_async(holds.reserve)
confirm = sync_to_async(transitions.confirm)
release = sync_to_async(transitions.release)
extend = sync_to_async(transitions.extend)


def latest() -> str:
    """The feed's newest position, as the stream's SSE ids read."""
    return str(settled_position())


def last_entry_of(stock_row) -> str:
    return str(position_of(LedgerEntry.objects.filter(stock=stock_row).order_by("-sequence")[0]))


# --- the stream's messages -----------------------------------------------------------------


def test_a_reserve_streams_the_rows_new_counters(row):
    async def scenario():
        reader, _ = await open_stream()
        preamble = await reader.block()
        assert preamble["retry"] == "2000"
        assert preamble["id"] == await sync_to_async(latest)()  # the newest

        await reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=2)

        block = await reader.message()
        event_id = await sync_to_async(latest)()
        assert block["id"] == event_id
        assert data_of(block) == {
            "productId": str(row.product_id),
            "warehouseId": str(row.warehouse_id),
            "totalStock": 10,
            "reservedStock": 2,
            "available": 8,
            "eventId": event_id,
        }

    run(scenario)


def test_a_confirm_streams_units_leaving_stock(row):
    hold = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)

    async def scenario():
        reader, _ = await open_stream()
        assert (await reader.block())["id"] == await sync_to_async(latest)()

        await confirm(reservation_id=hold.id)

        message = data_of(await reader.message())
        assert (message["totalStock"], message["reservedStock"], message["available"]) == (7, 0, 7)

    run(scenario)


def test_a_release_streams_units_coming_back(row):
    hold = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=4)

    async def scenario():
        reader, _ = await open_stream()
        await reader.block()

        await release(reservation_id=hold.id)

        message = data_of(await reader.message())
        assert (message["totalStock"], message["reservedStock"], message["available"]) == (
            10,
            0,
            10,
        )
        assert message["eventId"] == await sync_to_async(latest)()

    run(scenario)


def test_a_stock_adjustment_streams_too(row):
    async def scenario():
        reader, _ = await open_stream()
        await reader.block()

        await sync_to_async(stock.adjust_stock)(
            product_id=row.product_id, warehouse_id=row.warehouse_id, delta=5, actor="staff"
        )

        assert data_of(await reader.message())["totalStock"] == 15

    run(scenario)


def test_an_extension_changes_no_stock_and_streams_nothing(row):
    hold = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    other = InventoryFactory(warehouse=row.warehouse)

    async def scenario():
        reader, _ = await open_stream()
        await reader.block()

        await extend(reservation_id=hold.id)
        await reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=1)

        # The next message is the other row's hold: the extension was skipped.
        assert data_of(await reader.message())["productId"] == str(other.product_id)

    run(scenario)


# --- resuming ------------------------------------------------------------------------------


def test_a_stream_resumes_after_the_last_event_id_header(row):
    other = InventoryFactory(warehouse=row.warehouse)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    seen = latest()
    holds.reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=2)
    missed = latest()

    async def scenario():
        reader, _ = await open_stream(**{"Last-Event-ID": seen})
        assert (await reader.block())["id"] == seen

        block = await reader.message()

        assert block["id"] == missed
        assert data_of(block)["productId"] == str(other.product_id)
        assert data_of(block)["available"] == 8

    run(scenario)


def test_a_first_connection_starts_from_the_last_event_id_parameter(row):
    seen = latest()
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?lastEventId={seen}")
        assert (await reader.block())["id"] == seen
        assert data_of(await reader.message())["available"] == 9

    run(scenario)


def test_the_header_wins_over_the_parameter(row):
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    newest = latest()

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?lastEventId=0-0", **{"Last-Event-ID": newest})
        assert (await reader.block())["id"] == newest

    run(scenario)


def test_a_malformed_last_event_id_starts_from_now(row):
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    newest = latest()

    async def scenario():
        for malformed in ("abc", "17"):  # "17": an event id of the stream before the ledger
            reader, _ = await open_stream(**{"Last-Event-ID": malformed})
            assert (await reader.block())["id"] == newest

    run(scenario)


def test_a_second_stream_catches_up_to_the_running_hub(row):
    """A resuming stream joins a hub already past its id: it reads the gap once, then joins."""
    other = InventoryFactory(warehouse=row.warehouse)

    async def scenario():
        first, _ = await open_stream()
        await first.block()
        seen = await sync_to_async(latest)()
        await reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=1)
        await first.message()  # the hub's cursor is now past `seen`

        second, _ = await open_stream(**{"Last-Event-ID": seen})
        await second.block()
        assert data_of(await second.message())["productId"] == str(other.product_id)

        await reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
        assert data_of(await second.message())["productId"] == str(row.product_id)
        assert data_of(await first.message())["productId"] == str(row.product_id)

    run(scenario)


# --- coalescing and filtering ---------------------------------------------------------------


def test_several_changes_of_one_row_become_one_message_with_the_latest_position(row):
    other = InventoryFactory(warehouse=row.warehouse)
    start = latest()
    for _ in range(3):
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    holds.reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=1)
    last_on_row = last_entry_of(row)
    settled_position()

    async def scenario():
        reader, _ = await open_stream(**{"Last-Event-ID": start})
        await reader.block()
        first, second = data_of(await reader.message()), data_of(await reader.message())
        assert (first["productId"], first["eventId"]) == (str(row.product_id), last_on_row)
        assert first["reservedStock"] == 3
        assert second["productId"] == str(other.product_id)

    run(scenario)


def test_a_read_coalesces_rows_in_feed_order(row):
    other = InventoryFactory(warehouse=row.warehouse)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    start = settled_position()
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    holds.reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=1)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    end = settled_position()

    read = feed.read_changes(start)

    assert [change.product_id for change in read.changes] == [other.product_id, row.product_id]
    assert read.changes[1].reserved_stock == 3
    assert read.cursor == end


def test_the_product_filter_keeps_one_products_rows(row):
    other = InventoryFactory(warehouse=row.warehouse)
    elsewhere = InventoryFactory(product=row.product, warehouse=WarehouseFactory())

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?product={row.product_id}")
        await reader.block()

        await reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=1)
        await reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
        await reserve(
            product_id=elsewhere.product_id, warehouse_id=elsewhere.warehouse_id, quantity=2
        )

        first, second = data_of(await reader.message()), data_of(await reader.message())
        assert {first["productId"], second["productId"]} == {str(row.product_id)}
        assert [first["warehouseId"], second["warehouseId"]] == [
            str(row.warehouse_id),
            str(elsewhere.warehouse_id),
        ]

    run(scenario)


@pytest.mark.parametrize("product", ["abc", "0", "-1", "1.5", ""])
def test_a_malformed_product_filter_is_refused(product):
    async def scenario():
        response = await AsyncClient().get(f"{STREAM}?product={product}")
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_ID"

    run(scenario)


def test_only_get_is_allowed():
    assert Client().post(STREAM).status_code == 405


# --- heartbeat and ending -------------------------------------------------------------------


def test_a_quiet_stream_sends_heartbeats(row, monkeypatch):
    monkeypatch.setattr(events_view, "HEARTBEAT_SECONDS", 0.2)
    other = InventoryFactory(warehouse=row.warehouse)

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?product={row.product_id}")
        await reader.block()
        assert await reader.block() == {"comment": "heartbeat"}

        # A heartbeat after changes the stream skipped (another product's) moves the
        # client's resume point.
        await reserve(product_id=other.product_id, warehouse_id=other.warehouse_id, quantity=1)
        heartbeat = await reader.block()
        while "id" not in heartbeat:  # a heartbeat may go out before the hub reads the change
            heartbeat = await reader.block()
        assert heartbeat == {"comment": "heartbeat", "id": await sync_to_async(latest)()}

    run(scenario)


def test_the_hub_stops_when_the_last_client_goes(row):
    async def scenario():
        stock_hub = hub.hub_for_this_loop()
        readers = [(await open_stream())[0] for _ in range(3)]
        for reader in readers:
            await reader.block()
        assert stock_hub.subscriber_count == 3
        waits = [asyncio.create_task(reader.block()) for reader in readers]
        await asyncio.sleep(0.1)

        # When a client goes, Django's ASGI handler cancels the task sending the response.
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)

        assert stock_hub.subscriber_count == 0
        for _ in range(100):
            if stock_hub.cursor is None:
                break
            await asyncio.sleep(0.02)
        assert stock_hub.cursor is None  # polling stopped

    run(scenario)


def test_a_client_too_slow_to_read_is_dropped(row, monkeypatch):
    monkeypatch.setattr(hub, "MAX_QUEUED_BATCHES", 1)

    async def scenario():
        stock_hub = hub.hub_for_this_loop()
        slow = stock_hub.subscribe(start=Cursor())
        change = feed.StockChange(row.product_id, row.warehouse_id, 10, 0, 10, Cursor(1, 1))
        stock_hub._publish([change])
        stock_hub._publish([change])

        assert stock_hub.subscriber_count == 0
        assert slow.queue.qsize() == 2
        slow.queue.get_nowait()
        assert isinstance(slow.queue.get_nowait(), hub.Overflow)

    run(scenario)


# --- queries --------------------------------------------------------------------------------


def test_a_quiet_poll_is_one_query(row, django_assert_num_queries):
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)

    cursor = settled_position()

    with django_assert_num_queries(1):
        read = feed.read_changes(cursor)

    assert read.changes == []


def test_a_busy_poll_is_one_query_however_many_changes(django_assert_num_queries):
    rows = InventoryFactory.create_batch(6, total_stock=50)
    for stock_row in rows:
        for _ in range(3):
            holds.reserve(
                product_id=stock_row.product_id, warehouse_id=stock_row.warehouse_id, quantity=1
            )

    settled_position()
    with django_assert_num_queries(1):
        read = feed.read_changes(Cursor())

    assert len(read.changes) == 6
    assert {change.reserved_stock for change in read.changes} == {3}


def test_one_read_serves_every_open_stream(row, monkeypatch):
    reads = []
    real_read = hub._read_and_release
    monkeypatch.setattr(
        hub, "_read_and_release", lambda cursor: reads.append(1) or real_read(cursor)
    )

    async def scenario():
        stock_hub = hub.hub_for_this_loop()
        stock_hub.poll_seconds = 3600  # polls only when the test asks
        subscriptions = [stock_hub.subscribe(start=Cursor()) for _ in range(50)]
        await asyncio.sleep(0)  # the poll task's first read
        reads.clear()
        await reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
        await sync_to_async(settled_position)()  # the change is below the feed's horizon
        reads.clear()

        await stock_hub.poll_once()

        assert len(reads) == 1
        assert all(sub.queue.qsize() >= 1 for sub in subscriptions)

    run(scenario)


# --- changes that commit out of order -------------------------------------------------------


HOLD_ONE_UNIT_SQL = one_unit_sql("reserved_stock", "held", "ADJUSTED")


def test_a_change_committed_after_a_later_one_is_not_missed(row):
    """Transaction A writes ledger entry n, B writes n + 1 and commits first: the stream's
    cursor must not pass n while A is open, however long A stays open, and gets both once
    A commits (the late-commit duty the stock API's events have too)."""
    other = InventoryFactory(warehouse=row.warehouse)
    cursor = settled_position()
    written, commit = threading.Event(), threading.Event()

    def slow_transaction():
        try:
            with transaction.atomic(), connection.cursor() as db:
                db.execute(HOLD_ONE_UNIT_SQL, [other.pk])
                written.set()
                commit.wait(WAIT_SECONDS)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    assert written.wait(WAIT_SECONDS)
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)

    while_open = feed.read_changes(cursor)
    assert while_open.changes == [] and while_open.cursor == cursor

    commit.set()
    thread.join()
    settled_position()
    after = feed.read_changes(while_open.cursor)

    assert sorted(c.product_id for c in after.changes) == sorted([row.product_id, other.product_id])


def test_a_rolled_back_change_holds_nothing_back(row):
    cursor = settled_position()
    with pytest.raises(RuntimeError), transaction.atomic(), connection.cursor() as db:
        db.execute(HOLD_ONE_UNIT_SQL, [row.pk])
        raise RuntimeError("roll back")
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    settled_position()

    read = feed.read_changes(cursor)

    assert [(c.product_id, c.reserved_stock) for c in read.changes] == [(row.product_id, 1)]


# --- the WSGI stand-in ----------------------------------------------------------------------


def test_under_wsgi_the_stream_is_refused_in_production(row):
    """A WSGI worker's threads serve reservations: a stream must not take one for hours."""
    response = Client().get(STREAM)

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["code"] == "STREAM_NOT_SERVED_HERE"


def test_under_wsgi_with_debug_the_stream_polls_on_its_own_thread(row, monkeypatch, settings):
    settings.DEBUG = True
    monkeypatch.setattr(events_view, "HEARTBEAT_SECONDS", 0.1)
    response = Client().get(STREAM)
    chunks = iter(response.streaming_content)

    assert next(chunks).decode() == f"retry: 2000\nid: {latest()}\n\n"
    assert next(chunks).decode() == ": heartbeat\n\n"
    holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    chunk = next(chunks).decode()
    while chunk.startswith(": heartbeat"):
        chunk = next(chunks).decode()
    assert '"available":9' in chunk
    response.close()


# --- the pages ------------------------------------------------------------------------------


def test_the_catalogue_listens_to_every_product(seeded, client):
    html = client.get("/products/").content.decode()

    assert 'src="/static/js/live-stock.js" data-stream="/events/stock/"' in html
    assert html.count(" data-product=") == 53


def test_the_product_page_listens_to_its_product(row, client):
    html = client.get(f"/products/{row.product_id}/").content.decode()

    assert f'data-stream="/events/stock/?product={row.product_id}"' in html
    assert f'data-warehouse-id="{row.warehouse_id}"' in html


def test_the_checkout_page_shows_the_rows_live_count(row, client):
    hold = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=3)

    html = client.get(f"/checkout/{hold.id}/").content.decode()

    assert f'data-stream="/events/stock/?product={row.product_id}"' in html
    assert (
        f'data-live-row data-product="{row.product_id}" data-warehouse="{row.warehouse_id}"' in html
    )
    assert 'data-testid="live-available">7</span>' in html


def test_a_finished_checkout_does_not_listen(row, client):
    hold = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    transitions.confirm(reservation_id=hold.id)

    html = client.get(f"/checkout/{hold.id}/").content.decode()

    assert "live-stock.js" not in html
