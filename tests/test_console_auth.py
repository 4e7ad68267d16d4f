"""Signing in to the staff console and out of it: the page at /admin/login/ and the JSON API
at /api/admin/login and /api/admin/logout."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core import signin_limits
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "pw-123456"  # UserFactory's
LOGIN = "/admin/login/"
API_LOGIN = "/api/admin/login"
API_LOGOUT = "/api/admin/logout"
FAILURES, WINDOW_SECONDS = signin_limits.limit()  # LOGIN_RATE_LIMIT: 5 in 5 minutes by default


@pytest.fixture
def staff():
    return UserFactory(email="boss@stockd.com", username="boss@stockd.com", is_staff=True)


@pytest.fixture
def shopper():
    return UserFactory(email="ann@example.com", username="ann@example.com")


def _signed_in(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def _sign_in(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


def _api_sign_in(client, email, password=PASSWORD, **headers):
    body = {"email": email, "password": password}
    return client.post(API_LOGIN, body, content_type="application/json", headers=headers)


# --- the sign-in page ----------------------------------------------------------------------


def test_login_page_asks_for_the_email_in_the_username_field(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">Email' in html
    assert 'type="email" name="username"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_login_form_without_a_csrf_token_is_refused(staff):
    client = Client(enforce_csrf_checks=True)
    response = _sign_in(client, staff.email)
    assert response.status_code == 403
    assert _signed_in(client) is None


def test_login_form_with_its_csrf_token_signs_in(staff):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    token = client.cookies["csrftoken"].value
    response = _sign_in(client, staff.email, csrfmiddlewaretoken=token)
    assert response.status_code == 302
    assert _signed_in(client) == staff.pk


def test_staff_sign_in_goes_to_the_dashboard(client, staff):
    response = _sign_in(client, "  BOSS@stockd.com ")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert _signed_in(client) == staff.pk
    assert client.get("/admin/").status_code == 200


def test_sign_in_follows_a_safe_next(client, staff):
    response = _sign_in(client, staff.email, next="/admin/?period=7d")
    assert response["Location"] == "/admin/?period=7d"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/admin/", "javascript:alert(1)"]
)
def test_sign_in_ignores_a_next_to_another_site(client, staff, target):
    page = client.get(LOGIN, {"next": target}).content.decode()
    assert "evil.example" not in page
    response = _sign_in(client, staff.email, next=target)
    assert response["Location"] == "/admin/"


def test_console_pages_send_anonymous_visitors_to_sign_in_and_back(client, staff):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    page = client.get(response["Location"]).content.decode()
    assert '<input type="hidden" name="next" value="/admin/">' in page


def test_signed_in_staff_visiting_the_login_page_go_to_the_dashboard(client, staff):
    client.force_login(staff)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_wrong_password_answers_401_and_signs_nobody_in(client, staff):
    response = _sign_in(client, staff.email, "not-the-password")
    assert response.status_code == 401
    assert "Invalid credentials" in response.content.decode()
    assert _signed_in(client) is None


def test_unknown_email_answers_like_a_wrong_password(client, staff):
    response = _sign_in(client, "nobody@stockd.com")
    assert response.status_code == 401
    assert _signed_in(client) is None


def test_empty_form_answers_400_with_the_missing_fields(client):
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 2
    assert _signed_in(client) is None


def test_inactive_staff_cannot_sign_in(client, staff):
    staff.is_active = False
    staff.save()
    assert _sign_in(client, staff.email).status_code == 401
    assert _signed_in(client) is None


def test_shopper_who_signs_in_is_told_the_console_is_for_staff(client, shopper):
    response = _sign_in(client, shopper.email)
    assert response.status_code == 403
    assert "The console is for staff." in response.content.decode()
    assert _signed_in(client) is None


def test_signed_in_shopper_on_the_login_page_is_told_it_is_for_staff(client, shopper):
    client.force_login(shopper)
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'data-testid="not-staff"' in response.content.decode()
    assert client.get("/admin/").status_code == 403


# --- the rate limit ------------------------------------------------------------------------


def _fail(client, email, times, ip="10.0.0.1"):
    for _ in range(times):
        response = client.post(LOGIN, {"username": email, "password": "wrong"}, REMOTE_ADDR=ip)
        assert response.status_code == 401


def test_sixth_attempt_in_the_window_is_refused_even_with_the_right_password(client, staff):
    _fail(client, staff.email, FAILURES)
    response = client.post(
        LOGIN, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    html = response.content.decode()
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= WINDOW_SECONDS + 1
    assert 'data-testid="rate-limited"' in html
    assert "Too many failed sign-ins" in html
    assert _signed_in(client) is None


def test_failures_are_counted_per_client_ip_whatever_the_email(client, staff):
    for n in range(FAILURES):
        _fail(client, f"guess{n}@stockd.com", 1)
    response = client.post(
        LOGIN, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    other_ip = client.post(
        LOGIN, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )
    assert other_ip.status_code == 302


def test_failures_are_counted_per_username_whatever_the_ip(client, staff):
    for n in range(FAILURES):
        _fail(client, staff.email.upper(), 1, ip=f"10.0.1.{n}")
    response = client.post(
        LOGIN, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.2.1"
    )
    assert response.status_code == 429
    assert _signed_in(client) is None


def test_fewer_failures_than_the_limit_still_let_staff_in(client, staff):
    _fail(client, staff.email, FAILURES - 1)
    response = client.post(
        LOGIN, {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 302


def test_the_limit_ends_with_its_window(client, staff, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(signin_limits.time, "time", lambda: clock[0])
    _fail(client, staff.email, FAILURES)
    assert _sign_in(client, staff.email, REMOTE_ADDR="10.0.0.1").status_code == 429
    clock[0] += WINDOW_SECONDS + 1
    for key in signin_limits._keys(client.get(LOGIN).wsgi_request, staff.email):
        # The cache's own expiry runs on the real clock; end the window as it would.
        signin_limits.cache.delete_many([key, f"{key}:since"])
    assert signin_limits.retry_after(client.get(LOGIN).wsgi_request, staff.email) is None


# --- sign-out ------------------------------------------------------------------------------


def test_logout_is_post_only_and_goes_back_to_the_console_login(client, staff):
    client.force_login(staff)
    assert client.get("/admin/logout/").status_code == 405
    assert _signed_in(client) == staff.pk
    response = client.post("/admin/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/"
    assert _signed_in(client) is None
    assert "signed out of the console" in client.get(LOGIN).content.decode()


def test_logout_without_a_csrf_token_is_refused(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post("/admin/logout/").status_code == 403
    assert _signed_in(client) == staff.pk


# --- the JSON API --------------------------------------------------------------------------


def test_api_login_signs_staff_in_with_a_session_cookie(client, staff):
    response = _api_sign_in(client, staff.email)
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert "sessionid" in response.cookies
    assert _signed_in(client) == staff.pk
    assert client.get("/api/admin/stats").status_code == 200


def test_api_login_with_wrong_credentials_answers_401(client, staff):
    response = _api_sign_in(client, staff.email, "wrong")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials", "code": "INVALID_CREDENTIALS"}
    assert "WWW-Authenticate" in response
    assert _signed_in(client) is None


def test_api_login_refuses_a_shopper_with_403(client, shopper):
    response = _api_sign_in(client, shopper.email)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert _signed_in(client) is None


def test_api_login_is_rate_limited_with_retry_after(client, staff):
    for _ in range(FAILURES):
        assert _api_sign_in(client, staff.email, "wrong").status_code == 401
    response = _api_sign_in(client, staff.email)
    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED"
    assert int(response["Retry-After"]) > 0
    assert _signed_in(client) is None


def test_api_and_page_share_one_count_of_failures(client, staff):
    _fail(client, staff.email, FAILURES, ip="127.0.0.1")
    assert _api_sign_in(client, staff.email).status_code == 429


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
    ],
)
def test_api_login_refuses_cross_site_requests(client, staff, headers):
    response = _api_sign_in(client, staff.email, **headers)
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert _signed_in(client) is None


def test_api_login_accepts_a_same_origin_browser_request(client, staff):
    response = _api_sign_in(
        client, staff.email, **{"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    )
    assert response.status_code == 200


def test_api_login_refuses_a_form_post(client, staff):
    body = {"email": staff.email, "password": PASSWORD}
    response = client.post(API_LOGIN, body)  # multipart: what a cross-site form can send
    assert response.status_code == 403
    assert _signed_in(client) is None


@pytest.mark.parametrize(
    "body", [{}, {"email": "boss@stockd.com"}, {"email": 5, "password": []}, []]
)
def test_api_login_with_bad_input_answers_400(client, staff, body):
    response = client.post(API_LOGIN, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert _signed_in(client) is None


def test_api_login_with_malformed_json_answers_400(client):
    response = client.post(API_LOGIN, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_JSON"


def test_api_login_is_post_only(client):
    assert client.get(API_LOGIN).status_code == 405


def test_api_logout_ends_the_staff_session(client, staff):
    client.force_login(staff)
    response = client.post(API_LOGOUT, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert _signed_in(client) is None


def test_api_sign_in_and_out_set_and_clear_the_original_uis_gate_cookie(client, staff):
    """The original UI shows its admin pages only while stockd_admin_session=authenticated."""
    signed_in = client.post(
        API_LOGIN, {"email": staff.email, "password": PASSWORD}, content_type="application/json"
    )
    assert signed_in.cookies["stockd_admin_session"].value == "authenticated"
    signed_out = client.post(API_LOGOUT, content_type="application/json")
    assert signed_out.cookies["stockd_admin_session"]["max-age"] == 0


def test_the_ui_gate_cookie_is_no_credential(client):
    client.cookies["stockd_admin_session"] = "authenticated"
    assert client.get("/api/admin/stats").status_code == 401


def test_api_logout_without_a_body_ends_the_staff_session(client, staff):
    """The original UI signs out with a bare POST: no body, no Content-Type."""
    client.force_login(staff)
    response = client.generic("POST", API_LOGOUT, content_type="")
    assert response.status_code == 200
    assert _signed_in(client) is None


def test_an_api_write_sent_as_an_empty_form_is_still_refused(client, staff):
    client.force_login(staff)
    response = client.post(API_LOGOUT, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403
    assert _signed_in(client) == staff.pk


def test_api_logout_answers_anonymous_401_and_shoppers_403(client, shopper):
    assert client.post(API_LOGOUT, content_type="application/json").status_code == 401
    client.force_login(shopper)
    assert client.post(API_LOGOUT, content_type="application/json").status_code == 403
    assert _signed_in(client) == shopper.pk


def test_api_logout_refuses_cross_site_requests(client, staff):
    client.force_login(staff)
    response = client.post(
        API_LOGOUT, content_type="application/json", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert _signed_in(client) == staff.pk
