"""core.cross_origin: which browser writes are same-origin, behind a proxy too.

The matrix (test_authorization_matrix) proves every cookie-carrying API write refuses a
cross-site request and takes a same-origin one without a token; these tests pin the rule's
cases on one write, POST /api/detect-warehouse, by a signed-in shopper. Proxy settings are
what stockd.settings derives from TRUSTED_PROXIES (test_smoke_settings checks that part).
"""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from reservations.models import Reservation
from tests.factories import InventoryFactory, UserFactory

pytestmark = pytest.mark.django_db

BEHIND_A_TRUSTED_PROXY = override_settings(
    USE_X_FORWARDED_HOST=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ALLOWED_HOSTS=["testserver", "shop.example.com"],
)
# What a rewrite proxy such as Next's sends: Host is the backend, the browser's host and
# scheme are in X-Forwarded-Host and X-Forwarded-Proto.
PROXIED = {"HTTP_X_FORWARDED_HOST": "shop.example.com", "HTTP_X_FORWARDED_PROTO": "https"}


@pytest.fixture
def shopper_api() -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    return client


def _write(client: APIClient, **headers) -> int:
    row = InventoryFactory()
    body = {"pincode": "560001", "productId": str(row.product_id)}
    return client.post("/api/detect-warehouse", body, format="json", **headers).status_code


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "same-origin"},
        {"HTTP_SEC_FETCH_SITE": "none"},  # typed by the user
        {"HTTP_ORIGIN": "http://testserver"},  # a browser without Sec-Fetch-Site
        {},  # no browser at all: a JSON body is something no form can send
    ],
    ids=["sec-fetch-site", "user-initiated", "origin", "no-browser"],
)
def test_a_same_origin_write_needs_no_token(shopper_api, headers):
    assert _write(shopper_api, **headers) == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://blog.testserver"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_ORIGIN": "https://testserver"},  # another scheme is another origin
        {"HTTP_ORIGIN": "null"},  # a sandboxed frame or a data: page
    ],
    ids=["same-site", "cross-site", "other-scheme", "opaque"],
)
def test_a_cross_origin_write_is_refused(shopper_api, headers):
    assert _write(shopper_api, **headers) == 403


@override_settings(CSRF_TRUSTED_ORIGINS=["https://shop.example.com", "https://*.example.org"])
@pytest.mark.parametrize("origin", ["https://shop.example.com", "https://admin.example.org"])
def test_an_origin_in_csrf_trusted_origins_may_write(shopper_api, origin):
    assert _write(shopper_api, HTTP_SEC_FETCH_SITE="cross-site", HTTP_ORIGIN=origin) == 200


@BEHIND_A_TRUSTED_PROXY
def test_behind_a_trusted_proxy_the_browsers_origin_is_the_sites(shopper_api):
    assert _write(shopper_api, HTTP_ORIGIN="https://shop.example.com", **PROXIED) == 200
    assert _write(shopper_api, HTTP_ORIGIN="http://testserver", **PROXIED) == 403


def test_without_a_trusted_proxy_forwarded_headers_name_no_origin(shopper_api):
    assert _write(shopper_api, HTTP_ORIGIN="https://shop.example.com", **PROXIED) == 403


def test_a_guests_cross_site_write_is_refused(api):
    """A guest's holds belong to its `stockd_guest` cookie, as an account's to its session."""
    row = InventoryFactory(total_stock=5)
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1}
    assert api.post("/api/reservations", body, format="json").status_code == 201
    (hold,) = Reservation.objects.all()

    refused = api.post(
        f"/api/reservations/{hold.pk}/release",
        format="json",
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_ORIGIN="https://evil.example",
    )

    assert refused.status_code == 403
    hold.refresh_from_db()
    assert hold.status == Reservation.Status.PENDING


def test_a_write_that_carries_no_cookie_acts_for_no_one_and_is_not_checked(api):
    """Without cookies a request has no shopper's authority to misuse: it is any API client."""
    assert _write(api, HTTP_SEC_FETCH_SITE="cross-site", HTTP_ORIGIN="https://evil.example") == 200


@BEHIND_A_TRUSTED_PROXY
def test_absolute_urls_behind_a_trusted_proxy_use_the_browsers_origin(api):
    row = InventoryFactory()
    (product,) = [
        p for p in api.get("/api/products", **PROXIED).json() if p["id"] == str(row.product_id)
    ]
    assert product["image"].startswith("https://shop.example.com/")


def test_absolute_urls_without_a_trusted_proxy_use_the_host_header(api):
    row = InventoryFactory()
    (product,) = [
        p for p in api.get("/api/products", **PROXIED).json() if p["id"] == str(row.product_id)
    ]
    assert product["image"].startswith("http://testserver/")
