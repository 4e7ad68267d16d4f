"""The reserve rate limit: RESERVE_RATE_LIMIT POSTs to reserve and batch per client.

A client is the signed-in user, else the client IP (X-Forwarded-For only behind
TRUSTED_PROXIES). Over the limit: 429 RATE_LIMITED with Retry-After, and nothing written.
tests/settings.py turns the limit off; each test here turns it on with override_settings.
"""

import logging
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from core.rates import Rate, parse_rate
from idempotency.models import IdempotencyKey
from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent
from reservations.services import preorders
from tests.caches import own_redis
from tests.factories import InventoryFactory, UserFactory
from tests.processes import clean_env

pytestmark = pytest.mark.django_db

LIMIT = 3
PROXY = "10.0.0.9"  # the trusted proxy's address, as the app sees it in REMOTE_ADDR


@pytest.fixture
def limited():
    with override_settings(RESERVE_RATE_LIMIT=f"{LIMIT}/m"):
        yield


def _behind_proxies(count: int):
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": count})


@pytest.fixture
def row() -> Inventory:
    return InventoryFactory(total_stock=100)


def _line(row: Inventory) -> dict:
    return {"productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "quantity": 1}


def _reserve(api: APIClient, row: Inventory, **extra):
    return api.post("/api/reservations", _line(row), format="json", **extra)


def _batch(api: APIClient, row: Inventory, **extra):
    return api.post("/api/reservations/batch", {"items": [_line(row)]}, format="json", **extra)


def _written(row: Inventory) -> tuple[int, int, int, int]:
    row.refresh_from_db()
    return (
        Reservation.objects.count(),
        ReservationEvent.objects.count(),
        IdempotencyKey.objects.count(),
        row.reserved_stock,
    )


def _use_up(api: APIClient, row: Inventory, **extra) -> None:
    for _ in range(LIMIT):
        assert _reserve(api, row, **extra).status_code == 201


def test_the_reserve_after_the_limit_is_429_with_retry_after_and_writes_nothing(api, row, limited):
    _use_up(api, row)
    before = _written(row)
    response = _reserve(api, row, headers={"Idempotency-Key": "over-the-limit"})
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "RATE_LIMITED"
    assert body["error"]
    assert 0 < int(response["Retry-After"]) <= 60
    assert body["retryAfter"] == int(response["Retry-After"])
    assert _written(row) == before == (LIMIT, LIMIT, 0, LIMIT)


def test_a_cart_after_the_limit_is_429_and_holds_nothing(api, row, limited):
    _use_up(api, row)
    before = _written(row)
    response = _batch(api, row)
    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED"
    assert int(response["Retry-After"]) > 0
    assert _written(row) == before


def test_reserve_and_batch_share_one_budget(api, row, limited):
    assert _batch(api, row).status_code == 201
    assert _reserve(api, row).status_code == 201
    assert _batch(api, row).status_code == 201
    assert _reserve(api, row).status_code == 429


def test_listing_holds_is_not_limited(api, row, limited):
    _use_up(api, row)
    for _ in range(LIMIT + 2):
        assert api.get("/api/reservations").status_code == 200
    assert _reserve(api, row).status_code == 429


def test_other_endpoints_are_not_limited(api, row, limited):
    _use_up(api, row)
    hold = Reservation.objects.first()
    assert api.post(f"/api/reservations/{hold.id}/confirm").status_code == 200
    assert api.get(f"/api/reservations/{hold.id}").status_code == 200


def test_client_addresses_have_separate_budgets(api, row, limited):
    _use_up(api, row, REMOTE_ADDR="198.51.100.1")
    assert _reserve(api, row, REMOTE_ADDR="198.51.100.1").status_code == 429
    assert _reserve(api, row, REMOTE_ADDR="198.51.100.2").status_code == 201


def test_signed_in_users_have_their_own_budgets_whatever_their_address(row, limited):
    ann, bob, guest = APIClient(), APIClient(), APIClient()
    ann.force_login(UserFactory())
    bob.force_login(UserFactory())
    _use_up(ann, row)
    assert _reserve(ann, row, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert _reserve(bob, row).status_code == 201  # same address as ann's first holds
    assert _reserve(guest, row).status_code == 201  # the address's own budget is untouched


def test_clients_behind_a_trusted_proxy_have_separate_budgets(api, row, limited):
    with _behind_proxies(1):
        _use_up(api, row, REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": "203.0.113.1"})
        first = _reserve(api, row, REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": "203.0.113.1"})
        second = _reserve(api, row, REMOTE_ADDR=PROXY, headers={"X-Forwarded-For": "203.0.113.2"})
    assert first.status_code == 429
    assert second.status_code == 201


def test_behind_a_trusted_proxy_a_forged_first_address_buys_no_budget(api, row, limited):
    """The proxy appends the address it saw; what the client wrote before it is not trusted."""
    with _behind_proxies(1):
        for n in range(LIMIT):
            forged = {"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.1"}
            assert _reserve(api, row, REMOTE_ADDR=PROXY, headers=forged).status_code == 201
        forged = {"X-Forwarded-For": "192.0.2.99, 203.0.113.1"}
        assert _reserve(api, row, REMOTE_ADDR=PROXY, headers=forged).status_code == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(api, row, limited):
    assert settings.TRUSTED_PROXIES == 0
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for n in range(LIMIT):
        spoofed = {"X-Forwarded-For": f"203.0.113.{n}"}
        assert _reserve(api, row, REMOTE_ADDR="198.51.100.1", headers=spoofed).status_code == 201
    spoofed = {"X-Forwarded-For": "203.0.113.99"}
    response = _reserve(api, row, REMOTE_ADDR="198.51.100.1", headers=spoofed)
    assert response.status_code == 429


def test_an_empty_limit_limits_nothing(api, row):
    with override_settings(RESERVE_RATE_LIMIT=""):
        for _ in range(LIMIT * 4):
            assert _reserve(api, row).status_code == 201
        assert _batch(api, row).status_code == 201
    assert Reservation.objects.count() == LIMIT * 4 + 1


@pytest.mark.parametrize("ignore_exceptions", [True, False], ids=["ignored", "raised"])
def test_with_redis_down_reserves_are_served_and_a_warning_logged(
    api, row, caplog, ignore_exceptions
):
    with (
        own_redis() as server,
        override_settings(
            RESERVE_RATE_LIMIT="1/m",
            CACHES=server.caches(ignore_exceptions=ignore_exceptions),
            DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=True,
        ),
    ):
        assert _reserve(api, row).status_code == 201
        assert _reserve(api, row).status_code == 429  # the limit is counted while Redis is up
        server.stop()
        with caplog.at_level(logging.WARNING):
            served = [_reserve(api, row) for _ in range(3)]
    assert [r.status_code for r in served] == [201, 201, 201]
    assert Reservation.objects.count() == 4
    assert any(record.levelno >= logging.WARNING for record in caplog.records)
    if not ignore_exceptions:  # django-redis logs an ignored error itself; this is ours
        assert any(
            record.name == "reservations.throttling" and "unreachable" in record.getMessage()
            for record in caplog.records
        )


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("60/m", Rate(60, 60)),
        ("5/5m", Rate(5, 300)),
        ("100/h", Rate(100, 3600)),
        ("10/30s", Rate(10, 30)),
        ("1000/day", Rate(1000, 86400)),
        (" 2 / 10 min ", Rate(2, 600)),
        ("", None),
    ],
)
def test_rates_are_read_as_count_per_period(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["60", "m", "60/", "60/week", "0/m", "5/0m", "-1/m", "1.5/m"])
def test_malformed_rates_are_refused(text):
    with pytest.raises(ValueError, match="rate|at least"):
        parse_rate(text)


def _settings_in_a_new_process(**environment: str) -> subprocess.CompletedProcess:
    script = (
        "from django.conf import settings; "
        "print(settings.RESERVE_RATE_LIMIT, settings.LOGIN_RATE_LIMIT, "
        "settings.REST_FRAMEWORK['NUM_PROXIES'])"
    )
    env = clean_env(DJANGO_SETTINGS_MODULE="stockd.settings", **environment)
    for name in ("RESERVE_RATE_LIMIT", "LOGIN_RATE_LIMIT", "TRUSTED_PROXIES"):
        if name not in environment:
            env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_environment_sets_the_limits_and_the_trusted_proxies():
    defaults = _settings_in_a_new_process()
    assert defaults.returncode == 0, defaults.stderr
    assert defaults.stdout.split() == ["60/m", "5/5m", "0"]
    chosen = _settings_in_a_new_process(
        RESERVE_RATE_LIMIT="", LOGIN_RATE_LIMIT="10/15m", TRUSTED_PROXIES="2"
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split() == ["10/15m", "2"]


def test_a_malformed_limit_stops_the_app_at_start():
    result = _settings_in_a_new_process(RESERVE_RATE_LIMIT="lots")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "RESERVE_RATE_LIMIT" in result.stderr


# --- the storefront's forms that hold stock: the same budget ----------------------------


def _reserve_form(client, row: Inventory):
    return client.post(
        f"/products/{row.product_id}/reserve/", {"warehouse": row.warehouse_id, "quantity": "1"}
    )


def _assert_rate_limited_page(response) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response["Content-Type"].startswith("text/html")
    assert "too many times in a short while" in response.content.decode()


def test_the_reserve_form_after_the_limit_is_the_429_page_and_holds_nothing(client, row, limited):
    for _ in range(LIMIT):
        assert _reserve_form(client, row).status_code == 302
    before = _written(row)

    _assert_rate_limited_page(_reserve_form(client, row))
    assert _written(row) == before


def test_the_forms_and_the_api_share_one_budget(client, api, row, limited):
    assert _reserve(api, row).status_code == 201
    for _ in range(LIMIT - 1):
        assert _reserve_form(client, row).status_code == 302

    _assert_rate_limited_page(_reserve_form(client, row))
    assert _reserve(api, row).status_code == 429
    assert Reservation.objects.count() == LIMIT


def test_holding_a_cart_after_the_limit_holds_nothing_and_keeps_the_cart(client, api, row, limited):
    client.post(
        f"/products/{row.product_id}/cart/", {"warehouse": row.warehouse_id, "quantity": "2"}
    )
    _use_up(api, row)

    response = client.post("/cart/hold/")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "too many times in a short while" in response.content.decode()
    assert row.product.name in response.content.decode()  # the cart, its line still there
    assert Reservation.objects.count() == LIMIT

    partial = client.post("/cart/hold/", headers={"HX-Request": "true"})
    assert partial.status_code == 200  # htmx swaps the cart's partial, refusal shown
    assert "too many times in a short while" in partial.content.decode()
    assert Reservation.objects.count() == LIMIT


def test_holding_a_cart_again_after_the_limit_releases_nothing(client, api, row, limited):
    client.post(
        f"/products/{row.product_id}/cart/", {"warehouse": row.warehouse_id, "quantity": "2"}
    )
    held = client.post("/cart/hold/")
    assert held.status_code == 302
    for _ in range(LIMIT - 1):
        assert _reserve(api, row).status_code == 201

    _assert_rate_limited_page(client.post(held["Location"], {"action": "again"}))
    cart_holds = Reservation.objects.exclude(cart_id=None)
    assert [h.status for h in cart_holds] == [Reservation.Status.PENDING]
    row.refresh_from_db()
    assert row.reserved_stock == 2 + (LIMIT - 1)


def test_the_preorder_form_counts_in_the_same_budget(client, api, row, limited):
    coming = InventoryFactory(total_stock=0, incoming_stock=10)
    preorders.set_terms((coming.product_id, coming.warehouse_id), limit=10, eta=None)
    shopper = UserFactory()
    client.force_login(shopper)
    api.force_login(shopper)  # a signed-in shopper's budget is the account's
    _use_up(api, row)

    form = {"warehouse": coming.warehouse_id, "quantity": "1", "method": "upi"}
    response = client.post(f"/products/{coming.product_id}/preorder/", form)

    _assert_rate_limited_page(response)
    assert not Reservation.objects.filter(kind=Reservation.Kind.PREORDER).exists()
