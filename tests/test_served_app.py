"""stockd as it is served: the Procfile's `web` (gunicorn, uvicorn workers, stockd.asgi).

What only that server shows: the event loop, the threads the ASGI app runs sync code on, and
framing done before Django builds a request. Each test here failed before issue 21's fixes.
"""

import http.client
import json
import signal
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import httpx
import pytest
from django.conf import settings

from reservations.models import Reservation
from reservations.services import holds
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, free_port, served, wait_for
from tests.races import connect, wait_until_blocked_by

pytestmark = pytest.mark.slow

PATIENCE_SECONDS = 60  # only a hang takes this long
# An answer the loop gives at once takes milliseconds; one queued behind a blocked loop or a
# busy shared thread takes a second or more per blocking call.
PROMPT_SECONDS = 1.5


def _session_cookie() -> dict[str, str]:
    """A shopper's session, as setting "Deliver to" makes one (committed: the server reads it)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["deliver_to"] = "560001"
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key}


def _first_event_line(client: httpx.Client, path: str) -> str:
    """Open the stream at `path`; return its first line once it is open."""
    with client.stream("GET", path) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return next(response.iter_lines())


def test_a_shopper_with_a_session_gets_the_designed_404_and_the_live_stream(stockd_server):
    """The request log loaded the session's user synchronously on the loop: 500s."""
    with httpx.Client(
        base_url=stockd_server, cookies=_session_cookie(), timeout=PATIENCE_SECONDS
    ) as client:
        unknown = client.get("/nope")
        assert unknown.status_code == 404
        assert "We couldn't find that page" in unknown.text
        assert client.get("/favicon.ico").status_code == 404
        assert _first_event_line(client, "/events/stock/")


def _post_chunked(url: str, body: bytes) -> tuple[int, dict]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=PATIENCE_SECONDS)
    chunks = (body[start : start + 7] for start in range(0, len(body), 7))
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    try:
        connection.request(
            "POST", "/api/reservations", body=chunks, headers=headers, encode_chunked=True
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_chunked_reserve_is_held_and_one_past_the_body_limit_is_a_413(stockd_server):
    row = InventoryFactory(total_stock=5)
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 2}
    data = json.dumps(body).encode()

    status, answer = _post_chunked(stockd_server, data)
    assert status == 201, answer
    assert answer["quantity"] == 2

    too_big = b" " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + data
    status, answer = _post_chunked(stockd_server, too_big)
    assert (status, answer["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert Reservation.objects.count() == 1


# --- one worker, so every request below shares one event loop and its threads -------------


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory) -> Iterator[subprocess.Popen]:
    """A Redis of this module's own, which a test may pause (SIGSTOP)."""
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    redis = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis.url = f"redis://127.0.0.1:{port}/0"
    try:
        yield redis
    finally:
        redis.send_signal(signal.SIGCONT)
        redis.terminate()
        redis.wait(timeout=PATIENCE_SECONDS)


@pytest.fixture(scope="module")
def one_worker(django_db_setup, own_redis, tmp_path_factory) -> Iterator[str]:
    """stockd served by one worker on its own Redis, with the reserve rate limit on and the
    production pool (two connections; a request waits 3 s for one, then answers 503)."""
    env = env_for_test_database(
        DATABASE_POOL="1",
        DATABASE_POOL_MAX_SIZE="2",
        DATABASE_POOL_TIMEOUT="3",
        REDIS_URL=own_redis.url,
        RESERVE_RATE_LIMIT="1000/m",
    )
    with served(tmp_path_factory.mktemp("one-worker"), env, workers=1) as url:
        yield url


def _hold(url: str, row) -> int:
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1}
    return httpx.post(f"{url}/api/reservations", json=body, timeout=PATIENCE_SECONDS).status_code


def _seconds_to_answer(url: str) -> float:
    started = time.monotonic()
    assert httpx.get(url, timeout=PATIENCE_SECONDS).status_code == 200
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_with_redis_paused_streams_keep_receiving_and_requests_keep_answering(
    one_worker, own_redis
):
    """The rate limit's cache calls ran on the event loop: a silent Redis stalled everything."""
    held, watched = InventoryFactory(total_stock=10), InventoryFactory(total_stock=10)
    received: list[str] = []
    stream_open = threading.Event()

    def listen() -> None:
        """Read the stream until its first change, or give up after PATIENCE_SECONDS."""
        path = f"{one_worker}/events/stock/?product={watched.product_id}"
        deadline = time.monotonic() + PATIENCE_SECONDS
        with httpx.stream("GET", path, timeout=PATIENCE_SECONDS) as stream:
            stream_open.set()
            for line in stream.iter_lines():  # a heartbeat comes every 15 s
                received.append(line)
                if line.startswith("data:") or time.monotonic() > deadline:
                    return

    with ThreadPoolExecutor(max_workers=8) as pool:
        listener = pool.submit(listen)
        assert stream_open.wait(PATIENCE_SECONDS)
        own_redis.send_signal(signal.SIGSTOP)
        try:
            reserves = [pool.submit(_hold, one_worker, held) for _ in range(6)]
            time.sleep(0.5)  # the reserves are waiting on Redis now
            assert _seconds_to_answer(f"{one_worker}/healthz") < PROMPT_SECONDS
            changed = time.monotonic()
            holds.reserve(
                product_id=watched.product_id, warehouse_id=watched.warehouse_id, quantity=1
            )
            listener.result(timeout=PATIENCE_SECONDS)
            assert time.monotonic() - changed < PROMPT_SECONDS + 0.5  # one poll of the hub
            assert not all(reserve.done() for reserve in reserves)  # Redis is still silent
        finally:
            own_redis.send_signal(signal.SIGCONT)
        statuses = [reserve.result(timeout=PATIENCE_SECONDS) for reserve in reserves]

    (change,) = [json.loads(line.removeprefix("data:")) for line in received if "data:" in line]
    assert change["productId"] == str(watched.product_id), change
    assert statuses == [201] * 6  # reserve works without Redis: the limit lets them through
    held.refresh_from_db()
    assert held.reserved_stock == 6


@pytest.mark.django_db(transaction=True)
def test_a_routed_hold_waiting_on_a_row_lock_keeps_no_other_request_waiting(one_worker):
    """Routed holds ran on the thread every stream and hot POST shares."""
    row = InventoryFactory(total_stock=10)
    body = {"productId": row.product_id, "quantity": 1}  # no warehouseId: routed

    with connect(autocommit=False) as locker, ThreadPoolExecutor(max_workers=1) as pool:
        locker.execute("SELECT 1 FROM inventory_inventory WHERE id = %s FOR UPDATE", [row.pk])
        locker_pid = locker.info.backend_pid
        routed = pool.submit(
            httpx.post, f"{one_worker}/api/reservations", json=body, timeout=PATIENCE_SECONDS
        )
        wait_until_blocked_by(locker_pid, alive=lambda: not routed.done())

        with httpx.Client(base_url=one_worker, timeout=PROMPT_SECONDS) as client:
            assert _first_event_line(client, "/events/stock/")
        locker.rollback()
        assert routed.result(timeout=PATIENCE_SECONDS).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_pages_for_unknown_urls_give_their_pooled_connections_back(one_worker):
    """Django renders them on a thread of its own, which kept the connection the page's
    session and user were read with: a few such 404s left every page answering 503."""
    cookies = _session_cookie()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(
                lambda n: (
                    httpx.get(
                        f"{one_worker}/nope{n}", cookies=cookies, timeout=PATIENCE_SECONDS
                    ).status_code
                ),
                range(8),
            )
        )
    assert statuses == [404] * 8
    with httpx.Client(base_url=one_worker, cookies=cookies, timeout=PATIENCE_SECONDS) as client:
        assert [client.get(path).status_code for path in ("/", "/api/products")] == [200, 200]


def test_servers_open_no_control_socket_in_the_home_folder(tmp_path, django_db_setup):
    """gunicorn's default control socket is one per user, shared by every server it starts."""
    home = tmp_path / "home"
    home.mkdir()
    env = env_for_test_database(HOME=str(home))
    env.pop("XDG_RUNTIME_DIR", None)
    with served(tmp_path, env, workers=1) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert list(home.rglob("*.ctl")) == []  # gunicorn removes its socket when it stops


def test_an_operator_may_name_a_control_socket(tmp_path, django_db_setup):
    socket_path = tmp_path / "stockd.ctl"
    env = env_for_test_database(GUNICORN_CONTROL_SOCKET=str(socket_path))
    with served(tmp_path, env, workers=1):
        log = tmp_path / "web.log"
        wait_for(socket_path.exists, timeout=PATIENCE_SECONDS, what="the socket", log=log)
