"""Sign-up, sign-in, sign-out and password reset by email, through the real pages."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from reservations.models import Reservation
from tests.factories import InventoryFactory, ReservationFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
GOOD_PASSWORD = "velvet-kettle-94"


def _signup(client, email="ann@example.com", password1=GOOD_PASSWORD, password2=None, **extra):
    data = {"email": email, "password1": password1, "password2": password2 or password1}
    return client.post("/accounts/signup/", {**data, **extra})


def _errors_of(html: str, field_id: str) -> list[str]:
    """The messages listed right under one field (Django's `<ul id="id_x_error">`)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _signed_in_user(client):
    user = User.objects.filter(pk=client.session.get("_auth_user_id")).first()
    return user


def _guest_reserves(client, quantity: int = 2) -> Reservation:
    """Hold units as a guest through the API with `client` (its guest cookie comes back)."""
    row = InventoryFactory()
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": quantity}
    response = client.post("/api/reservations", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return Reservation.objects.get(pk=response.json()["id"])


# --- sign-up -------------------------------------------------------------------------------


def test_signup_page_has_labelled_email_and_password_fields(client):
    response = client.get("/accounts/signup/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_email">Email' in html
    assert '<label for="id_password1">Password' in html
    assert '<label for="id_password2">Confirm password' in html
    assert 'type="email" name="email"' in html
    assert "accounts.css" in html


def test_signup_creates_the_account_signs_in_and_goes_to_orders(client):
    response = _signup(client, email="  Ann@Example.COM ")
    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    user = User.objects.get()
    assert (user.username, user.email) == ("ann@example.com", "ann@example.com")
    assert user.check_password(GOOD_PASSWORD)
    assert not user.is_staff
    assert _signed_in_user(client) == user
    page = client.get("/orders/").content.decode()
    assert "signed in as ann@example.com" in page


def test_signup_follows_a_safe_next(client):
    response = _signup(client, next="/cart/")
    assert response["Location"] == "/cart/"


def test_signup_ignores_a_next_to_another_site(client):
    response = _signup(client, next="https://evil.example/steal")
    assert response["Location"] == "/orders/"


def test_signup_keeps_next_in_the_form_and_links(client):
    html = client.get("/accounts/signup/", {"next": "/cart/"}).content.decode()
    assert '<input type="hidden" name="next" value="/cart/">' in html
    assert 'href="/accounts/login/?next=/cart/"' in html


@pytest.mark.parametrize("email", ["not-an-email", "ann@", "@example.com", ""])
def test_signup_refuses_a_bad_email_and_writes_nothing(client, email):
    response = _signup(client, email=email)
    assert response.status_code == 200
    errors = _errors_of(response.content.decode(), "id_email")
    assert errors in (["Enter a valid email address."], ["This field is required."])
    assert User.objects.count() == 0
    assert _signed_in_user(client) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("k9#x", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("4819203746", "This password is entirely numeric."),
        ("ann.example", "The password is too similar to the email address."),
    ],
)
def test_signup_refuses_a_weak_password_beside_the_field(client, password, message):
    response = _signup(client, password1=password)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in _errors_of(html, "id_password2")
    assert 'aria-invalid="true"' in html
    assert User.objects.count() == 0


def test_signup_refuses_mismatched_passwords(client):
    response = _signup(client, password1=GOOD_PASSWORD, password2=GOOD_PASSWORD + "x")
    assert _errors_of(response.content.decode(), "id_password2") == [
        "The two password fields didn’t match."
    ]
    assert User.objects.count() == 0


def test_signup_refuses_missing_fields(client):
    response = client.post("/accounts/signup/", {})
    html = response.content.decode()
    for field in ("id_email", "id_password1", "id_password2"):
        assert _errors_of(html, field) == ["This field is required."]
    assert User.objects.count() == 0


def test_signup_refuses_an_email_already_used_in_any_case(client):
    UserFactory(email="admin@stockd.com", username="admin@stockd.com", is_staff=True)
    response = _signup(client, email="Admin@Stockd.com", next="/cart/")
    html = response.content.decode()
    assert response.status_code == 200
    assert _errors_of(html, "id_email") == ["An account with this email already exists."]
    assert 'data-testid="duplicate-email"' in html
    assert 'href="/accounts/login/?next=/cart/">Sign in</a>' in html
    assert 'href="/accounts/password-reset/">reset your password</a>' in html
    assert User.objects.count() == 1
    assert _signed_in_user(client) is None


def test_signed_in_shopper_is_sent_from_signup_to_orders(client):
    client.force_login(UserFactory())
    assert client.get("/accounts/signup/")["Location"] == "/orders/"


def test_signup_refuses_other_methods(client):
    assert client.put("/accounts/signup/").status_code == 405


def test_signup_moves_the_guests_holds_to_the_account(client):
    held = _guest_reserves(client)
    signup_page = client.get("/accounts/signup/").content.decode()
    assert 'data-testid="guest-note"' in signup_page
    _signup(client)
    held.refresh_from_db()
    user = User.objects.get(email="ann@example.com")
    assert (held.user, held.guest_id) == (user, None)


# --- sign-in -------------------------------------------------------------------------------


def test_login_page_asks_for_email_and_password(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<label for="id_username">Email' in html
    assert 'type="email" name="username"' in html
    assert '<label for="id_password">Password' in html
    assert 'href="/accounts/password-reset/"' in html
    assert 'href="/accounts/signup/"' in html


def test_login_with_email_in_any_case_goes_to_orders(client):
    user = UserFactory(email="bob@example.com")
    response = client.post(
        "/accounts/login/", {"username": "Bob@Example.com ", "password": "pw-123456"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    assert _signed_in_user(client) == user


def test_login_follows_a_safe_next_and_ignores_an_unsafe_one(client):
    UserFactory(email="bob@example.com")
    credentials = {"username": "bob@example.com", "password": "pw-123456"}
    assert client.post("/accounts/login/?next=/cart/", credentials)["Location"] == "/cart/"
    client.logout()
    unsafe = client.post("/accounts/login/", {**credentials, "next": "//evil.example/"})
    assert unsafe["Location"] == "/orders/"


def test_login_page_carries_next(client):
    html = client.get("/accounts/login/", {"next": "/orders/"}).content.decode()
    assert '<input type="hidden" name="next" value="/orders/">' in html


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "bob@example.com", "password": "wrong-password"},
        {"username": "nobody@example.com", "password": "pw-123456"},
    ],
)
def test_login_refuses_a_wrong_password_or_unknown_email(client, credentials):
    UserFactory(email="bob@example.com")
    response = client.post("/accounts/login/", credentials)
    html = response.content.decode()
    assert response.status_code == 200
    assert "That email and password don&#x27;t match an account." in html
    assert 'role="alert"' in html
    assert _signed_in_user(client) is None


def test_login_refuses_empty_fields(client):
    html = client.post("/accounts/login/", {}).content.decode()
    assert _errors_of(html, "id_username") == ["This field is required."]
    assert _errors_of(html, "id_password") == ["This field is required."]


def test_login_moves_the_guests_holds_to_the_account(client):
    user = UserFactory(email="bob@example.com")
    someone_elses = ReservationFactory(guest_id="6f0b7d1c-0000-4000-8000-000000000001")
    held = _guest_reserves(client)
    client.post("/accounts/login/", {"username": "bob@example.com", "password": "pw-123456"})
    held.refresh_from_db()
    someone_elses.refresh_from_db()
    assert (held.user, held.guest_id) == (user, None)
    assert someone_elses.user is None


def test_signed_in_shopper_is_sent_from_login_to_orders(client):
    client.force_login(UserFactory())
    assert client.get("/accounts/login/")["Location"] == "/orders/"


# --- sign-out ------------------------------------------------------------------------------


def test_logout_by_get_is_refused_and_keeps_the_session(client):
    user = UserFactory()
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert _signed_in_user(client) == user


def test_logout_by_post_signs_out_and_goes_to_the_landing_page(client):
    client.force_login(UserFactory())
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _signed_in_user(client) is None
    assert "You&#x27;re signed out." in client.get("/").content.decode()


def test_header_offers_sign_out_as_a_post_form(client):
    client.force_login(UserFactory(email="bob@example.com"))
    html = client.get("/orders/").content.decode()
    assert '<form method="post" action="/accounts/logout/">' in html
    assert "bob@example.com" in html


# --- password reset ------------------------------------------------------------------------


def _reset_link(message) -> str:
    match = re.search(r"http://testserver(/accounts/password-reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_page_asks_for_the_email(client):
    html = client.get("/accounts/password-reset/").content.decode()
    assert '<label for="id_email">Email' in html


def test_password_reset_sends_one_email_whose_link_sets_a_new_password(client):
    user = UserFactory(email="bob@example.com")
    response = client.post("/accounts/password-reset/", {"email": "BOB@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert "Check your email" in client.get(response["Location"]).content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@example.com"]
    assert message.subject == "Reset your stockd password"
    link = _reset_link(message)

    # Django swaps the token in the link for one in the session, then shows the form.
    set_password_url = client.get(link)["Location"]
    form_page = client.get(set_password_url).content.decode()
    assert "Choose a new password" in form_page
    assert '<label for="id_new_password1">' in form_page

    mismatch = client.post(
        set_password_url, {"new_password1": "sunny-meadow-71", "new_password2": "other-71"}
    )
    assert "didn’t match" in mismatch.content.decode()
    weak = client.post(set_password_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert "This password is too common." in weak.content.decode()
    user.refresh_from_db()
    assert user.check_password("pw-123456")

    done = client.post(
        set_password_url,
        {"new_password1": "sunny-meadow-71", "new_password2": "sunny-meadow-71"},
    )
    assert done["Location"] == "/accounts/password-reset/complete/"
    assert "Your password is changed" in client.get(done["Location"]).content.decode()

    old = client.post("/accounts/login/", {"username": "bob@example.com", "password": "pw-123456"})
    assert old.status_code == 200 and _signed_in_user(client) is None
    new = client.post(
        "/accounts/login/", {"username": "bob@example.com", "password": "sunny-meadow-71"}
    )
    assert new["Location"] == "/orders/"
    assert _signed_in_user(client) == user

    # The link works once.
    client.logout()
    again = client.get(link, follow=True).content.decode()
    assert "This link doesn" in again


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_refuses_a_bad_email(client):
    response = client.post("/accounts/password-reset/", {"email": "not-an-email"})
    assert response.status_code == 200
    assert _errors_of(response.content.decode(), "id_email") == ["Enter a valid email address."]
    assert mail.outbox == []


def test_password_reset_with_a_forged_link_offers_a_new_one(client):
    html = client.get("/accounts/password-reset/MQ/forged-token/", follow=True).content.decode()
    assert "This link doesn" in html
    assert 'href="/accounts/password-reset/"' in html
