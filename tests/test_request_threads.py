"""A request's thread lends no pooled connection while it waits for the event loop.

Under ASGI a request's sync steps run one by one on a thread of its own; between steps the
thread waits for the loop, which under load took seconds. Holding the connection over that
wait starved the pool (two connections per process) until requests timed out waiting for
connections nobody used: `make chaos` found it (docs/reliability.md). These tests drive the
production ASGI application (stockd.asgi) and its threads with real pooled connections.
"""

import asyncio
import threading

import pytest
from django.db import connection, connections, transaction

from core.serving.request_threads import ConnectionReleasingExecutor
from stockd.asgi import application
from tests.factories import InventoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


def lent(pool) -> int:
    """How many of the pool's connections are out of it, lent to a thread."""
    stats = pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


def scope_for(path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def test_a_request_lends_no_connection_while_its_answer_is_sent():
    """The view has read the database; while the loop sends its answer, the connection is back."""
    InventoryFactory()
    pool = connections["default"].pool
    before = lent(pool)
    seen: list[tuple[int, int]] = []
    body = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if body:
            return body.pop()
        await asyncio.Event().wait()  # no disconnect: Django cancels this listener at the end

    async def send(message):
        if message["type"] == "http.response.start":
            seen.append((message["status"], lent(pool)))

    asyncio.run(application(scope_for("/api/products"), receive, send))

    assert seen == [(200, before)]


def test_each_step_gives_its_idle_connection_back_on_the_same_thread():
    thread = ConnectionReleasingExecutor("test")
    try:

        def query_then_look() -> tuple[int, str]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return threading.get_ident(), "open" if connection.connection else "closed"

        def look() -> tuple[int, str]:
            return threading.get_ident(), "open" if connection.connection else "closed"

        first_thread, during = thread.submit(query_then_look).result()
        second_thread, after = thread.submit(look).result()
    finally:
        thread.shutdown()

    assert first_thread == second_thread
    assert (during, after) == ("open", "closed")


def test_a_connection_with_a_transaction_open_is_kept_until_it_ends():
    """Autocommit turned off across steps: closing the connection would lose the transaction."""
    thread = ConnectionReleasingExecutor("test")
    try:

        def begin() -> int:
            transaction.set_autocommit(False)
            with connection.cursor() as cursor:
                cursor.execute("SELECT txid_current()")
                return cursor.fetchone()[0]

        def same_transaction_then_end() -> int:
            with connection.cursor() as cursor:
                cursor.execute("SELECT txid_current()")
                txid = cursor.fetchone()[0]
            transaction.commit()
            transaction.set_autocommit(True)
            return txid

        began = thread.submit(begin).result()
        assert thread.submit(same_transaction_then_end).result() == began
        assert thread.submit(lambda: connection.connection is None).result()
    finally:
        thread.shutdown()


def test_a_failing_step_still_gives_its_connection_back():
    thread = ConnectionReleasingExecutor("test")
    try:

        def query_then_fail() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            raise LookupError("the step's own error")

        with pytest.raises(LookupError, match="the step's own error"):
            thread.submit(query_then_fail).result()
        assert thread.submit(lambda: connection.connection is None).result()
    finally:
        thread.shutdown()
