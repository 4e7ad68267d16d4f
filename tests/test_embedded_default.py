"""`make run` serves the whole app with no database or cache server: SQLite and local memory."""

import csv
import html
import io
import json
import os
import signal
import sqlite3
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.processes import clean_env, free_port, spawn, wait_for

pytestmark = pytest.mark.slow

BOOT_TIMEOUT_SECONDS = 120
RACERS = 50
# The seed's three sold-out products: 0 units in every warehouse (fixtures/products.csv).
SOLD_OUT = {
    "Organic Vitamin C Serum (20%)",
    "Pro Resistance Band Set",
    "Limited Edition Smartwatch Pro",
}


@dataclass
class Server:
    url: str
    var_dir: Path
    log: Path


def _request(url: str, body: dict | None = None) -> tuple[int, dict | list | str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _answers(url: str) -> bool:
    try:
        return _request(url)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Server:
    """Boot `make run` with no DATABASE_URL or REDIS_URL and a fresh SQLite file."""
    tmp = tmp_path_factory.mktemp("embedded")
    unset = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "HTTPS_ONLY", "CRON_SECRET"}
    env = {k: v for k, v in clean_env().items() if k not in unset and not k.startswith("CELERY_")}
    env["VAR_DIR"] = str(tmp / "var")
    server = Server(f"http://127.0.0.1:{free_port()}", tmp / "var", tmp / "make-run.log")
    process = spawn(["make", "run", f"PORT={server.url.rsplit(':', 1)[1]}"], env, server.log)
    try:
        wait_for(
            lambda: process.poll() is None and _answers(f"{server.url}/healthz"),
            timeout=BOOT_TIMEOUT_SECONDS,
            what="make run to serve",
            log=server.log,
        )
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_make_run_serves_the_catalogue_on_sqlite_without_servers(embedded):
    status, body = _request(f"{embedded.url}/")
    assert status == 200 and "Reserve it." in body  # the landing page, on SQLite's figures
    assert '<dd data-testid="stat-products">53</dd>' in body
    status, body = _request(f"{embedded.url}/products/")
    assert status == 200 and "BP Monitor" in body and "All products" in body

    status, products = _request(f"{embedded.url}/api/products")
    assert status == 200 and len(products) == 53
    stock = {p["name"]: {row["totalStock"] for row in p["inventory"]} for p in products}
    assert {name for name, units in stock.items() if units == {0}} == SOLD_OUT
    assert {name for name, units in stock.items() if units == {10}} == set(stock) - SOLD_OUT
    assert all(len(p["inventory"]) == 5 for p in products)

    database = embedded.var_dir / "stockd.sqlite3"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT COUNT(*) FROM inventory_inventory").fetchone()[0] == 265
        empty_rows = "SELECT COUNT(*) FROM inventory_inventory WHERE total_stock = 0"
        assert connection.execute(empty_rows).fetchone()[0] == 15
    wait_for(
        lambda: "Sweeping due reservations every 60s" in embedded.log.read_text(),
        timeout=30,
        what="the sweeper beside the server",
        log=embedded.log,
    )


def test_racing_for_the_last_unit_on_sqlite_has_one_winner_and_no_lock_errors(embedded):
    # Products are listed by name and three are sold out: race for one that has its 10 units.
    product = next(
        p
        for p in _request(f"{embedded.url}/api/products")[1]
        if p["inventory"][0]["available"] == 10
    )
    stock = product["inventory"][0]
    line = {"productId": product["id"], "warehouseId": stock["warehouseId"]}
    assert isinstance(product["id"], str) and isinstance(stock["warehouseId"], str)
    status, _ = _request(f"{embedded.url}/api/reservations", {**line, "quantity": 9})
    assert status == 201

    barrier = threading.Barrier(RACERS)
    answers: list[tuple[int, object]] = []

    def shopper() -> None:
        barrier.wait()
        answers.append(_request(f"{embedded.url}/api/reservations", {**line, "quantity": 1}))

    threads = [threading.Thread(target=shopper) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(status for status, _ in answers) == {201: 1, 409: RACERS - 1}
    refusals = [body for status, body in answers if status == 409]
    assert all(
        body["code"] == "INSUFFICIENT_STOCK"
        and body["available"] == 0
        and body["error"] == f"Only 0 unit(s) available in warehouse {stock['warehouseId']}."
        for body in refusals
    ), refusals
    assert "database is locked" not in embedded.log.read_text()
    product = _request(f"{embedded.url}/api/products/{product['id']}")[1]
    assert product["inventory"][0]["reservedStock"] == 10


# --- several workers, one state: nothing that outlives a request stays in one process ------


# A new connection for every request, as a browser's several connections do: one kept alive
# would take every request to the same worker.
EVERY_REQUEST_ITS_OWN_CONNECTION = httpx.Limits(max_keepalive_connections=0)


def _client(embedded: Server) -> httpx.Client:
    return httpx.Client(
        base_url=embedded.url,
        timeout=60,
        headers={"Origin": embedded.url},
        limits=EVERY_REQUEST_ITS_OWN_CONNECTION,
    )


def _staff_client(embedded: Server) -> httpx.Client:
    """Sign in as the seed's staff user (`make run`'s development password); return the client."""
    client = _client(embedded)
    answer = client.post(
        "/api/admin/login", json={"email": "admin@stockd.com", "password": "admin123"}
    )
    assert answer.status_code == 200, answer.text
    client.get("/admin/inventory/import/")  # sets the CSRF cookie
    return client


def _import(client: httpx.Client, text: str) -> None:
    """Upload a stock CSV, check it to the end and apply it, as the console's pages do."""
    form = {"csrfmiddlewaretoken": client.cookies["csrftoken"]}
    uploaded = client.post(
        "/admin/inventory/import/", data=form, files={"file": ("stock.csv", text, "text/csv")}
    )
    assert uploaded.status_code == 302, uploaded.text
    job = uploaded.headers["location"].rstrip("/")
    for _ in range(100):
        checked = client.post(f"{job}/check", data=form)
        assert checked.status_code == 302, checked.text
        if 'data-testid="import-progress"' not in client.get(f"{job}/").text:
            break
    applied = client.post(f"{job}/apply", data=form)
    assert (applied.status_code, applied.headers.get("location")) == (302, "/admin/inventory/")


def test_a_shopper_with_a_session_gets_the_404_page_and_the_stream(embedded):
    with httpx.Client(base_url=embedded.url, timeout=60) as client:
        client.get("/")  # the CSRF cookie for the form below
        token = client.cookies["csrftoken"]
        chosen = client.post("/deliver-to/", data={"csrfmiddlewaretoken": token, "place": "560001"})
        assert chosen.status_code in (200, 302), chosen.text
        assert "sessionid" in client.cookies

        unknown = client.get("/nope")
        assert unknown.status_code == 404 and "We couldn't find that page" in unknown.text
        with client.stream("GET", "/events/stock/") as stream:
            assert stream.status_code == 200
            assert next(stream.iter_lines())


def test_twenty_csv_imports_in_a_row_all_preview_and_apply_across_workers(embedded):
    client = _staff_client(embedded)
    try:
        first = next(_stock_rows(client))
        sku, warehouse = first["sku"], first["warehouse"]
        for total in range(20, 40):
            _import(client, f"sku,warehouse,total_stock\n{sku},{warehouse},{total}\n")
        rows = [
            row for row in _stock_rows(client) if (row["sku"], row["warehouse"]) == (sku, warehouse)
        ]
    finally:
        client.close()
    assert [row["total_stock"] for row in rows] == ["39"]


def _stock_rows(client: httpx.Client) -> Iterator[dict[str, str]]:
    return csv.DictReader(io.StringIO(client.get("/admin/stock/stock.csv").text))


def test_the_race_demo_races_naive_and_stockd_on_sqlite(embedded):
    """The original UI's race body under `make run`: no 503, the strategies SQLite can race."""
    client = _staff_client(embedded)
    try:
        product = next(p for p in client.get("/api/products").json() if p["totalAvailable"] >= 5)
        body = {
            "productId": product["id"],
            "warehouseId": product["inventory"][0]["warehouseId"],
            "concurrency": 30,
            "resetAfter": False,
        }
        raced = client.post("/api/demo/race", json=body)
        serializable = client.post("/api/demo/race", json={**body, "strategy": "serializable"})
        page = client.get("/admin/race/")
    finally:
        client.close()

    assert raced.status_code == 200, raced.text
    answer = raced.json()
    assert answer["summary"]["strategy"] == "stockd"
    assert (answer["summary"]["correct"], answer["summary"]["errors"]) == (True, 0)
    naive, stockd = answer["comparison"]
    assert (naive["strategy"], stockd["strategy"]) == ("naive", "stockd")
    # Naive usually oversells here too, but SQLite's lock and a busy machine can serialize its
    # 30 shoppers; its verdict must match what happened (it oversells reliably on PostgreSQL,
    # tests/test_console_race.py).
    assert naive["correct"] is (naive["oversoldUnits"] == 0)
    need_postgresql = (
        "The original's SERIALIZABLE + FOR UPDATE needs PostgreSQL; this server runs on SQLite."
    )
    assert answer["unavailable"] == {"serializable": need_postgresql}
    assert serializable.status_code == 503
    assert serializable.json() == {"error": need_postgresql, "code": "RACE_NEEDS_POSTGRESQL"}
    assert html.escape(need_postgresql) in page.text


def test_the_sign_in_limit_holds_across_workers(embedded):
    """Last in this module: it spends the sign-in budget of 127.0.0.1 (LOGIN_RATE_LIMIT)."""
    wrong = {"email": "nobody@example.com", "password": "wrong"}
    with _client(embedded) as client:
        statuses = [client.post("/api/admin/login", json=wrong).status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
