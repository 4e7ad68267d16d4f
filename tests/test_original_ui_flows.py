"""The original UI's flows over HTTP, as its Next.js rewrite proxy delivers them to stockd.

The UI runs at http://localhost:3000 and rewrites /api/* to stockd. So every request reaches the
served app (the Procfile's `web`, with TRUSTED_PROXIES=1, as docs/migrating.md says) with:
- `Host` set to the backend's address;
- the browser's host and scheme in `X-Forwarded-Host` and `X-Forwarded-Proto`;
- the browser's `Origin` on writes, and no CSRF token.

Sec-Fetch-Site is left out, as an older browser would, so `Origin` against the forwarded origin
decides. tests/e2e/test_original_ui.py runs the same proxy in front of real Chromium.
"""

from collections.abc import Iterator

import httpx
import pytest

from inventory.models import Inventory
from tests.factories import InventoryFactory, UserFactory

BROWSER = "http://localhost:3000"
THROUGH_THE_PROXY = {
    "X-Forwarded-Host": "localhost:3000",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-For": "203.0.113.7",
    "Origin": BROWSER,
}
PATIENCE_SECONDS = 60


@pytest.fixture
def through_proxy(served_behind_a_proxy, transactional_db) -> Iterator[httpx.Client]:
    """One browser's cookie jar, talking to stockd as the proxy does."""
    with httpx.Client(
        base_url=served_behind_a_proxy, headers=THROUGH_THE_PROXY, timeout=PATIENCE_SECONDS
    ) as client:
        yield client


def _sign_in_staff(through_proxy: httpx.Client) -> None:
    staff = UserFactory(is_staff=True)
    signed_in = through_proxy.post(
        "/api/admin/login", json={"email": staff.email, "password": "pw-123456"}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert through_proxy.cookies["stockd_admin_session"] == "authenticated"


def test_a_shopper_browses_reserves_confirms_cancels_and_waits(through_proxy):
    row = InventoryFactory(total_stock=2, product__category="Audio")
    sold_out = InventoryFactory(total_stock=0)

    products = through_proxy.get("/api/products", params={"category": "Audio"}).json()
    assert [p["id"] for p in products] == [str(row.product_id)]
    assert products[0]["image"].startswith(f"{BROWSER}/")  # the browser's origin, not the backend's
    found = through_proxy.get("/api/products", params={"q": row.product.name}).json()
    assert [p["id"] for p in found] == [str(row.product_id)]
    assert through_proxy.get(f"/api/products/{row.product_id}").status_code == 200
    checked = through_proxy.post(
        "/api/detect-warehouse", json={"pincode": "560001", "productId": str(row.product_id)}
    )
    assert checked.status_code == 200, checked.text

    line = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}
    kept = through_proxy.post("/api/reservations", json=line).json()
    dropped = through_proxy.post("/api/reservations", json=line).json()
    assert (
        through_proxy.post(f"/api/reservations/{kept['id']}/confirm").json()["status"]
        == "CONFIRMED"
    )
    released = through_proxy.post(f"/api/reservations/{dropped['id']}/release").json()
    assert released["reservation"]["status"] == "RELEASED"
    mine = through_proxy.get("/api/reservations").json()
    assert {h["id"] for h in mine} == {kept["id"], dropped["id"]}

    wait = {
        **line,
        "productId": str(sold_out.product_id),
        "warehouseId": str(sold_out.warehouse_id),
    }
    wait["email"] = "ann@example.com"
    assert through_proxy.post("/api/waitlist", json=wait).status_code == 201
    again = through_proxy.post("/api/waitlist", json=wait)
    assert again.status_code == 409
    assert again.json()["message"]  # the UI's "Already on waitlist" toast


def test_staff_sign_in_work_and_sign_out_and_then_shop(through_proxy):
    row = InventoryFactory(total_stock=3)
    _sign_in_staff(through_proxy)

    assert through_proxy.get("/api/admin/stats").status_code == 200
    stock = through_proxy.get("/api/admin/inventory").json()
    assert str(row.pk) in {r["id"] for r in stock}
    edited = through_proxy.patch(
        "/api/admin/inventory", json={"inventoryId": str(row.pk), "totalStock": 5}
    )
    assert edited.status_code == 200, edited.text

    line = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}
    held = through_proxy.post("/api/reservations", json=line)  # a shopper's write, staff signed in
    assert held.status_code == 201, held.text
    logs = through_proxy.get("/api/admin/logs").json()
    created = [e for e in logs if e["event"] == "CREATED"]
    assert created[0]["reservation"]["product"]["name"] == row.product.name

    race = through_proxy.post(
        "/api/demo/race",
        json={
            "productId": str(row.product_id),
            "warehouseId": str(row.warehouse_id),
            "concurrency": 10,
            "resetAfter": False,
        },
    )
    assert race.status_code == 200, race.text
    summary = race.json()["summary"]
    assert (summary["correct"], summary["winners"]) == (True, 4)  # 5 units, 1 held
    assert summary["verdict"].startswith("Correct")

    signed_out = through_proxy.post("/api/admin/logout")  # the UI's: no body, no Content-Type
    assert signed_out.status_code == 200, signed_out.text
    assert "stockd_admin_session" not in through_proxy.cookies
    assert through_proxy.get("/api/admin/stats").status_code == 401
    assert through_proxy.post("/api/reservations", json=line).status_code == 201


def test_a_cross_site_page_cannot_make_the_signed_in_browser_write(through_proxy):
    row = InventoryFactory(total_stock=3)
    _sign_in_staff(through_proxy)
    elsewhere = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    line = {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}
    writes = [
        ("PATCH", "/api/admin/inventory", {"inventoryId": str(row.pk), "totalStock": 99}),
        ("POST", "/api/reservations", line),
        ("POST", "/api/admin/logout", None),
    ]

    for method, path, body in writes:
        refused = through_proxy.request(method, path, json=body, headers=elsewhere)
        assert refused.status_code == 403, (path, refused.text)

    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (3, 0)
    assert through_proxy.get("/api/admin/stats").status_code == 200  # still signed in
    assert Inventory.objects.count() == 1
