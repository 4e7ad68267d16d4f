"""Failed sign-ins are limited on all three sign-ins: the storefront's, the console's page and
the staff JSON API, by one count per client IP and one per username (LOGIN_RATE_LIMIT).

tests/test_console_auth.py covers the console's own pages and answers in detail.
"""

import logging

import pytest
from django.conf import settings
from django.test import Client, override_settings

from tests.caches import own_redis
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"  # UserFactory's
SHOP_LOGIN = "/accounts/login/"
CONSOLE_LOGIN = "/admin/login/"
API_LOGIN = "/api/admin/login"
LIMIT = 3
PROXY = "10.0.0.9"


@pytest.fixture(autouse=True)
def fast_passwords():
    """Hash with MD5 here: each sign-in checks a password, and PBKDF2 costs a second apiece."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def limited():
    with override_settings(LOGIN_RATE_LIMIT=f"{LIMIT}/m"):
        yield


@pytest.fixture
def shopper():
    return UserFactory(email="ann@example.com", username="ann@example.com")


@pytest.fixture
def staff():
    return UserFactory(email="boss@stockd.com", username="boss@stockd.com", is_staff=True)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _shop(client: Client, email: str, password: str = PASSWORD, **extra):
    return client.post(SHOP_LOGIN, {"username": email, "password": password}, **extra)


def _console(client: Client, email: str, password: str = PASSWORD, **extra):
    return client.post(CONSOLE_LOGIN, {"username": email, "password": password}, **extra)


def _api(client: Client, email: str, password: str = PASSWORD, **extra):
    body = {"email": email, "password": password}
    return client.post(API_LOGIN, body, content_type="application/json", **extra)


def _fail_at_the_shop(client: Client, email: str, times: int, **extra) -> None:
    for _ in range(times):
        response = _shop(client, email, "wrong", **extra)
        assert response.status_code == 200
        assert "don&#x27;t match an account" in response.content.decode()


# --- the storefront -----------------------------------------------------------------------


def test_the_shop_refuses_a_sign_in_after_the_limit_even_with_the_right_password(
    client, shopper, limited
):
    _fail_at_the_shop(client, shopper.email, LIMIT)
    response = _shop(client, shopper.email)
    html = response.content.decode()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 61
    assert "Too many failed sign-ins from here or for this account" in html
    assert "Try again in 1 minute." in html
    assert 'name="username"' in html and 'name="password"' in html  # the form, shown again
    assert not _signed_in(client)


def test_the_shop_counts_failures_per_client_ip_whatever_the_email(client, shopper, limited):
    for n in range(LIMIT):
        _fail_at_the_shop(client, f"guess{n}@example.com", 1, REMOTE_ADDR="198.51.100.1")
    assert _shop(client, shopper.email, REMOTE_ADDR="198.51.100.1").status_code == 429
    assert _shop(client, shopper.email, REMOTE_ADDR="198.51.100.2").status_code == 302
    assert _signed_in(client)


def test_the_shop_counts_failures_per_email_whatever_the_ip(client, shopper, limited):
    for n in range(LIMIT):
        _fail_at_the_shop(client, shopper.email.upper(), 1, REMOTE_ADDR=f"198.51.100.{n}")
    assert _shop(client, shopper.email, REMOTE_ADDR="198.51.100.50").status_code == 429
    assert not _signed_in(client)


def test_fewer_failures_than_the_limit_still_let_the_shopper_in(client, shopper, limited):
    _fail_at_the_shop(client, shopper.email, LIMIT - 1)
    assert _shop(client, shopper.email).status_code == 302
    assert _signed_in(client)


def test_a_good_sign_in_clears_the_emails_failures(client, shopper, limited):
    _fail_at_the_shop(client, shopper.email, LIMIT - 1, REMOTE_ADDR="198.51.100.1")
    assert _shop(Client(), shopper.email, REMOTE_ADDR="198.51.100.2").status_code == 302
    _fail_at_the_shop(client, shopper.email, LIMIT - 1, REMOTE_ADDR="198.51.100.3")
    assert _shop(client, shopper.email, REMOTE_ADDR="198.51.100.3").status_code == 302


def test_a_form_missing_its_password_is_not_a_failure(client, shopper, limited):
    for _ in range(LIMIT + 1):
        response = client.post(SHOP_LOGIN, {"username": shopper.email, "password": ""})
        assert response.status_code == 200
    assert _shop(client, shopper.email).status_code == 302


# --- one count for all three sign-ins -------------------------------------------------------


@pytest.mark.parametrize("sign_in", [_shop, _console, _api], ids=["shop", "console", "api"])
def test_failures_anywhere_add_up_to_one_limit_for_every_sign_in(client, staff, limited, sign_in):
    """Moving to another sign-in form buys a client no more tries at a password."""
    assert _shop(client, staff.email, "wrong").status_code == 200
    assert _console(client, staff.email, "wrong").status_code == 401
    assert _api(client, staff.email, "wrong").status_code == 401
    response = sign_in(client, staff.email)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert not _signed_in(client)


def test_the_api_answers_json_with_retry_after(client, staff, limited):
    for _ in range(LIMIT):
        assert _api(client, staff.email, "wrong").status_code == 401
    response = _api(client, staff.email)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "RATE_LIMITED"
    assert "Too many failed sign-ins" in body["error"]
    assert body["retryAfter"] == int(response["Retry-After"])


def test_the_console_page_shows_the_form_again_with_429(client, staff, limited):
    for _ in range(LIMIT):
        assert _console(client, staff.email, "wrong").status_code == 401
    response = _console(client, staff.email)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert 'data-testid="rate-limited"' in response.content.decode()


def test_an_empty_limit_limits_no_sign_in(client, shopper, staff):
    with override_settings(LOGIN_RATE_LIMIT=""):
        _fail_at_the_shop(client, shopper.email, LIMIT + 2)
        for _ in range(LIMIT + 2):
            assert _api(client, staff.email, "wrong").status_code == 401
        assert _shop(client, shopper.email).status_code == 302
        assert _api(Client(), staff.email).status_code == 200


# --- the client's address -------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(client, shopper, limited):
    for n in range(LIMIT):
        spoofed = {"headers": {"X-Forwarded-For": f"203.0.113.{n}"}}
        _fail_at_the_shop(client, f"guess{n}@example.com", 1, **spoofed)
    spoofed = {"headers": {"X-Forwarded-For": "203.0.113.99"}}
    assert _shop(client, shopper.email, **spoofed).status_code == 429


def test_clients_behind_a_trusted_proxy_are_counted_apart(client, shopper, limited):
    proxies = override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1})
    with proxies:
        for n in range(LIMIT):
            via = {"REMOTE_ADDR": PROXY, "headers": {"X-Forwarded-For": "203.0.113.1"}}
            _fail_at_the_shop(client, f"guess{n}@example.com", 1, **via)
        first = _shop(client, shopper.email, REMOTE_ADDR=PROXY, headers=via["headers"])
        other = {"X-Forwarded-For": "203.0.113.2"}
        second = _shop(client, shopper.email, REMOTE_ADDR=PROXY, headers=other)
    assert first.status_code == 429
    assert second.status_code == 302


# --- the cache down -------------------------------------------------------------------------


@pytest.mark.parametrize("ignore_exceptions", [True, False], ids=["ignored", "raised"])
def test_with_redis_down_every_sign_in_still_works(
    client, shopper, staff, caplog, ignore_exceptions
):
    with (
        own_redis() as server,
        override_settings(
            LOGIN_RATE_LIMIT="1/m",
            CACHES=server.caches(ignore_exceptions=ignore_exceptions),
            DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS=True,
        ),
    ):
        _fail_at_the_shop(client, shopper.email, 1)
        assert _shop(client, shopper.email).status_code == 429  # counted while Redis is up
        server.stop()
        with caplog.at_level(logging.WARNING):
            _fail_at_the_shop(client, shopper.email, 2)
            assert _console(client, staff.email, "wrong").status_code == 401
            assert _shop(client, shopper.email).status_code == 302
            assert _console(Client(), staff.email).status_code == 302
            assert _api(Client(), staff.email).status_code == 200
    assert any(record.levelno >= logging.WARNING for record in caplog.records)
    if not ignore_exceptions:
        assert any(record.name == "core.signin_limits" for record in caplog.records)
