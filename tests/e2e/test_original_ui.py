"""The original UI's requests from real Chromium, through a rewrite proxy like its Next.js one.

The original's Next.js source is not in this repository, so a stand-in page at the proxy's
origin (tests/rewrite_proxy.py) makes the calls its pages make, as they make them: fetch with
JSON and no CSRF token, and a sign-out with no body at all. stockd runs as the Procfile serves
it, with TRUSTED_PROXIES=1 as docs/migrating.md says. Chromium sends its own Origin and
Sec-Fetch-Site; the cookies are its own.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from inventory.models import Inventory
from reservations.models import Reservation
from tests.factories import InventoryFactory, UserFactory
from tests.rewrite_proxy import rewrite_proxy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ORIGINAL_UI = "<!doctype html><title>stockd (the original UI)</title><p>Signed out</p>"
# What the original's pages call: fetch(path, {method, headers, body}) answering
# {status, body, gate}: the JSON answer and whether the UI's admin cookie is set.
CALL = """async ([method, path, body]) => {
  const init = {method};
  if (body !== null) {
    init.headers = {"Content-Type": "application/json"};
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  return {status: response.status, body: text ? JSON.parse(text) : null};
}"""


@pytest.fixture
def ui(served_behind_a_proxy) -> Iterator[str]:
    with rewrite_proxy(served_behind_a_proxy, ORIGINAL_UI) as url:
        yield url


def _call(page: Page, method: str, path: str, body: Any = None) -> dict:
    return page.evaluate(CALL, [method, path, body])


def _gate(page: Page) -> str | None:
    """The UI's admin gate cookie, as its Next.js middleware would read it."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies.get("stockd_admin_session")


def test_staff_work_sign_out_and_shop_in_one_browser_through_the_proxy(page: Page, ui):
    row = InventoryFactory(total_stock=3)
    staff = UserFactory(is_staff=True)
    line = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}
    page.goto(f"{ui}/admin/login")

    signed_in = _call(
        page, "POST", "/api/admin/login", {"email": staff.email, "password": "pw-123456"}
    )
    assert signed_in["status"] == 200, signed_in
    assert _gate(page) == "authenticated"
    assert _call(page, "GET", "/api/admin/stats")["status"] == 200
    edited = _call(
        page, "PATCH", "/api/admin/inventory", {"inventoryId": str(row.pk), "totalStock": 5}
    )
    assert edited["status"] == 200, edited
    race = _call(
        page,
        "POST",
        "/api/demo/race",
        {**line, "concurrency": 20, "resetAfter": True},
    )
    assert race["status"] == 200, race
    assert race["body"]["summary"]["correct"] is True
    assert race["body"]["summary"]["verdict"].startswith("Correct")
    products = _call(page, "GET", "/api/products")["body"]
    assert all(p["image"].startswith(f"{ui}/") for p in products)  # what this browser can reach

    held = _call(page, "POST", "/api/reservations", line)  # a shopper's write, staff signed in
    assert held["status"] == 201, held
    logs = _call(page, "GET", "/api/admin/logs")["body"]
    assert [e["event"] for e in logs] == ["CREATED", "STOCK_ADDED"]  # newest first

    signed_out = _call(page, "POST", "/api/admin/logout")  # no body, no Content-Type
    assert signed_out["status"] == 200, signed_out
    assert _gate(page) is None
    assert _call(page, "GET", "/api/admin/stats")["status"] == 401
    assert _call(page, "POST", "/api/reservations", line)["status"] == 201
    assert Reservation.objects.filter(status=Reservation.Status.PENDING).count() == 2


def test_a_cross_site_page_cannot_make_the_signed_in_browser_write(
    browser: Browser, served_behind_a_proxy
):
    row = InventoryFactory(total_stock=3)
    staff = UserFactory(is_staff=True)
    context = browser.new_context()
    page = context.new_page()
    with rewrite_proxy(served_behind_a_proxy, ORIGINAL_UI) as ui:
        attack = _attack_page(ui, row)
        with rewrite_proxy(served_behind_a_proxy, attack, host="127.0.0.1") as elsewhere:
            page.goto(f"{ui}/admin/login")
            signed_in = _call(
                page, "POST", "/api/admin/login", {"email": staff.email, "password": "pw-123456"}
            )
            assert signed_in["status"] == 200

            page.goto(f"{elsewhere}/")
            page.wait_for_function("document.title === 'done'", timeout=30_000)

            page.goto(f"{ui}/admin")
            assert _call(page, "GET", "/api/admin/stats")["status"] == 200  # still signed in
    context.close()
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (3, 0)
    assert Inventory.objects.count() == 1 and not Reservation.objects.exists()


def _attack_page(ui: str, row: Inventory) -> str:
    """A page on another site that tries every way a page can write to `ui` unasked."""
    line = (
        f'{{"productId": "{row.product_id}", "warehouseId": "{row.warehouse_id}", "quantity": 1}}'
    )
    edit = f'{{"inventoryId": "{row.pk}", "totalStock": 99}}'
    return f"""<!doctype html><title>attacking</title>
<iframe name="sink" hidden></iframe>
<form id="form" method="post" action="{ui}/api/reservations" enctype="text/plain" target="sink">
  <input name='{line[:-1]}, "x": "' value='"}}'>
</form>
<script>
(async () => {{
  const tries = [
    ["POST", "/api/reservations", {line!r}],
    ["PATCH", "/api/admin/inventory", {edit!r}],
    ["POST", "/api/admin/logout", null],
  ];
  for (const [method, path, body] of tries) {{
    try {{
      await fetch("{ui}" + path, {{method, body, credentials: "include", mode: "no-cors",
                                   headers: {{"Content-Type": "text/plain"}}}});
    }} catch (error) {{}}
  }}
  document.getElementById("form").submit();
  setTimeout(() => {{ document.title = "done"; }}, 1500);
}})();
</script>"""
