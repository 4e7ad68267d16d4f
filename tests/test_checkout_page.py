"""The single-hold checkout page: every state, every action, and who may see it."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from inventory.models import Inventory
from reservations.models import Reservation
from reservations.services import holds, transitions
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

Status = Reservation.Status
Reason = Reservation.ReleaseReason


@pytest.fixture
def stock() -> Inventory:
    product = ProductFactory(name="Sunscreen SPF 50", brand="Lakme", price=Decimal("799.00"))
    warehouse = WarehouseFactory(
        name="Chennai Warehouse", city="Chennai", location="Guindy, Chennai 600032"
    )
    return InventoryFactory(product=product, warehouse=warehouse, total_stock=10)


def hold(stock: Inventory, *, quantity: int = 1, user=None) -> Reservation:
    """Hold units through the service, so the counters and the audit log are consistent."""
    return holds.reserve(
        product_id=stock.product_id,
        warehouse_id=stock.warehouse_id,
        quantity=quantity,
        user=user,
        guest_id=None if user else uuid.uuid4(),
    )


def page_url(reservation: Reservation) -> str:
    return reverse("checkout", kwargs={"reservation_id": reservation.id})


def pay_url(reservation: Reservation) -> str:
    return reverse("checkout-pay", kwargs={"reservation_id": reservation.id})


def make_due(reservation: Reservation) -> None:
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def stored(reservation: Reservation) -> Reservation:
    return Reservation.objects.get(pk=reservation.pk)


def counters(stock: Inventory) -> tuple[int, int]:
    stock.refresh_from_db()
    return stock.total_stock, stock.reserved_stock


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- a live hold -------------------------------------------------------------------------------


def test_pending_hold_shows_what_is_held_where(client, stock):
    reservation = hold(stock, quantity=2)

    response = client.get(page_url(reservation))

    assert response.status_code == 200
    assert "storefront/checkout.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'data-status="PENDING"' in html and 'data-state="pending"' in html
    assert "2 × Sunscreen SPF 50 from Chennai Warehouse" in html
    assert '<dd data-testid="status">Pending</dd>' in html
    assert "Held for you" in html and '<span class="badge warn">Active</span>' in html
    assert stock.product.image_url in html
    assert "₹799" in html and "Lakme" in html
    assert "<dd>Guindy, Chennai 600032</dd>" in html
    assert '<dd data-testid="quantity">2 units</dd>' in html
    assert '<dd data-testid="total"><strong>₹1,598</strong></dd>' in html
    assert f'<code data-testid="reservation-id">{reservation.id}</code>' in html
    shop_time = timezone.localtime(reservation.expires_at)  # the shop's zone, Asia/Kolkata
    assert shop_time.strftime("%H:%M:%S IST") in html
    assert "Reserved at" in html and "Expires at" in html


def test_pending_hold_offers_pay_extend_and_cancel_as_plain_links_and_forms(client, stock):
    reservation = hold(stock)

    html = client.get(page_url(reservation)).content.decode()

    assert f'href="{pay_url(reservation)}"' in html and "Confirm purchase" in html
    assert re.search(r'<button type="submit" name="action" value="extend"[^>]*>', html)
    assert re.search(r'<button type="submit" name="action" value="release"[^>]*>', html)
    forms = re.findall(r'<form method="post" action="([^"]+)"', html)
    assert set(forms) >= {page_url(reservation)}
    assert html.count('name="csrfmiddlewaretoken"') >= 2


def test_time_left_is_the_servers_count_rendered_into_the_page(client, stock):
    reservation = hold(stock)
    server_now = timezone.now()
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=server_now + timedelta(seconds=94, milliseconds=700)
    )

    with time_machine.travel(server_now, tick=False):
        response = client.get(page_url(reservation))

    html = response.content.decode()
    assert 'data-countdown-seconds="95"' in html  # rounded up
    assert 'data-countdown-total="600"' in html
    assert '<span data-countdown-clock role="timer" data-testid="clock">01:35</span>' in html
    assert '<progress data-countdown-bar max="600" value="95"' in html
    assert '<span data-testid="time-left">1 minute 35 seconds</span>' in html
    shop_now = timezone.localtime(server_now).isoformat()  # the shop's zone, with its offset
    assert f'data-countdown-server-now="{shop_now}"' in html
    assert 'data-countdown-state="running"' in html


def test_the_last_minute_is_marked_ending(client, stock):
    reservation = hold(stock)
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() + timedelta(seconds=30)
    )

    html = client.get(page_url(reservation)).content.decode()

    assert 'data-countdown-state="ending"' in html


def test_the_page_asks_the_server_again_when_the_countdown_ends(client, stock):
    reservation = hold(stock)

    html = client.get(page_url(reservation)).content.decode()

    article = re.search(r'<article id="checkout"[^>]*>', html).group(0)
    assert f'hx-get="{page_url(reservation)}"' in article
    assert 'hx-trigger="countdown:end"' in article and 'hx-swap="outerHTML"' in article
    assert "js/countdown.js" in html and "css/checkout.css" in html


def test_the_page_is_never_cached(client, stock):
    response = client.get(page_url(hold(stock)))

    assert "no-store" in response["Cache-Control"]


def test_every_htmx_request_has_a_plain_fallback(client, stock):
    reservation = hold(stock)
    for url in (page_url(reservation), pay_url(reservation)):
        html = client.get(url).content.decode()
        for tag in re.findall(r"<a\b[^>]*\bhx-get=[^>]*>", html):
            href = re.search(r'href="([^"]+)"', tag).group(1)
            assert href == re.search(r'hx-get="([^"]+)"', tag).group(1)


# --- htmx partials ------------------------------------------------------------------------------


def test_htmx_refresh_gets_only_the_checkout_partial(client, stock):
    reservation = hold(stock)

    response = client.get(page_url(reservation), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<title>Checkout · stockd</title>")
    assert '<article id="checkout"' in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_htmx_refresh_after_the_time_is_up_answers_the_expired_state(client, stock):
    reservation = hold(stock, quantity=3)
    make_due(reservation)

    response = client.get(page_url(reservation), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    # htmx takes a top-level <title> for the tab, then swaps the article in.
    assert html.lstrip().startswith("<title>Hold expired · stockd</title>")
    assert '<h1 id="checkout-title">Hold expired</h1>' in html
    assert '<article id="checkout"' in html
    assert 'data-state="expired"' in html and "Your hold expired" in html
    assert "data-countdown" not in html and "hx-trigger" not in html
    assert f'href="{reverse("product", args=[stock.product_id])}"' in html
    assert (stored(reservation).status, stored(reservation).release_reason) == (
        Status.RELEASED,
        Reason.EXPIRED,
    )
    assert counters(stock) == (10, 0)


def test_htmx_history_restore_gets_the_whole_page(client, stock):
    response = client.get(
        page_url(hold(stock)), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


# --- extend ---------------------------------------------------------------------------------


def test_extend_once_then_the_button_is_gone(client, stock, settings):
    reservation = hold(stock)
    before = reservation.expires_at
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() + timedelta(seconds=40)
    )

    response = client.post(page_url(reservation), {"action": "extend"})

    assert response.status_code == 302 and response["Location"] == page_url(reservation)
    extended = stored(reservation)
    assert extended.extended is True
    assert extended.expires_at > before
    page = client.get(page_url(reservation))
    assert shown_messages(page) == ["Your hold is extended by 10 minutes."]
    html = page.content.decode()
    assert 'value="extend"' not in html
    assert "You have used your one extension." in html
    assert '<span class="badge soft">extended</span>' in html
    assert 'data-countdown-seconds="640"' in html or 'data-countdown-seconds="639"' in html


def test_a_second_extend_is_refused_kindly_and_changes_nothing(client, stock):
    reservation = hold(stock)
    client.post(page_url(reservation), {"action": "extend"})
    once = stored(reservation).expires_at
    client.get(page_url(reservation))  # read the first message

    response = client.post(page_url(reservation), {"action": "extend"}, follow=True)

    assert shown_messages(response) == [
        "This hold has had all its extensions. Confirm it before the time runs out."
    ]
    assert stored(reservation).expires_at == once


def test_extending_an_expired_hold_says_so_and_releases_it(client, stock):
    reservation = hold(stock)
    make_due(reservation)

    response = client.post(page_url(reservation), {"action": "extend"}, follow=True)

    assert shown_messages(response) == [
        "Your hold expired and the units went back on sale. "
        "Hold them again if they are still there."
    ]
    assert stored(reservation).release_reason == Reason.EXPIRED
    assert 'data-state="expired"' in response.content.decode()
    assert counters(stock) == (10, 0)


# --- pay and confirm ----------------------------------------------------------------------------


def test_confirm_purchase_opens_the_payment_step(client, stock):
    reservation = hold(stock, quantity=2)

    response = client.get(pay_url(reservation))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<form method="post" action="{pay_url(reservation)}" class="card payment"' in html
    assert "How would you like to pay?" in html
    for label in ("UPI", "Credit or debit card", "Cash on delivery"):
        assert f"<span>{label}</span>" in html
    assert '<strong class="price" data-testid="amount-due">₹1,598</strong>' in html
    assert "Pay ₹1,598 and confirm" in html
    assert "data-countdown" in html  # the time keeps running while paying
    assert stored(reservation).status == Status.PENDING


def test_htmx_gets_only_the_payment_step(client, stock):
    reservation = hold(stock)

    response = client.get(pay_url(reservation), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="checkout-actions"')
    assert "How would you like to pay?" in html and "<html" not in html


def test_paying_confirms_the_hold(client, stock):
    reservation = hold(stock, quantity=2)

    response = client.post(pay_url(reservation), {"method": "upi"})

    assert response.status_code == 302 and response["Location"] == page_url(reservation)
    confirmed = stored(reservation)
    assert confirmed.status == Status.CONFIRMED and confirmed.confirmed_at is not None
    assert counters(stock) == (8, 0)
    page = client.get(page_url(reservation))
    assert shown_messages(page) == ["Payment received (UPI). Your order is confirmed."]
    html = page.content.decode()
    assert 'data-state="confirmed"' in html and "Purchase confirmed" in html
    assert "<title>Order confirmed · stockd</title>" in html
    assert '<h1 id="checkout-title">Order confirmed</h1>' in html
    assert '<span class="badge ok">Confirmed</span>' in html
    assert "Order confirmed!" in html and "Continue shopping" in html
    assert '<dd data-testid="status">Confirmed</dd>' in html
    assert "Confirmed at" in html
    assert "data-countdown" not in html and 'value="extend"' not in html
    assert 'value="release"' not in html


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Choose how you would like to pay."),
        ({"method": "bitcoin"}, "Choose one of the ways to pay listed here."),
    ],
)
def test_paying_without_a_method_says_so_beside_it_and_changes_nothing(client, stock, data, error):
    reservation = hold(stock)

    response = client.post(pay_url(reservation), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<ul class="errorlist"><li>{escape(error)}</li></ul>' in html
    assert '<div id="method-errors" tabindex="-1" data-focus-on-swap>' in html  # focus goes there
    assert 'aria-invalid="true" aria-describedby="method-errors"' in html
    assert stored(reservation).status == Status.PENDING
    assert counters(stock) == (10, 1)


def test_paying_through_htmx_goes_to_the_whole_confirmed_page(client, stock):
    reservation = hold(stock)

    response = client.post(pay_url(reservation), {"method": "upi"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and response["HX-Redirect"] == page_url(reservation)
    assert stored(reservation).status == Status.CONFIRMED


def test_confirm_after_expiry_says_it_expired_and_releases_the_hold(client, stock):
    reservation = hold(stock, quantity=2)
    make_due(reservation)

    response = client.post(pay_url(reservation), {"method": "card"}, follow=True)

    assert response.redirect_chain == [(page_url(reservation), 302)]
    assert shown_messages(response) == [
        "Your hold expired and the units went back on sale. "
        "Hold them again if they are still there."
    ]
    released = stored(reservation)
    assert (released.status, released.release_reason) == (Status.RELEASED, Reason.EXPIRED)
    assert counters(stock) == (10, 0)
    html = response.content.decode()
    assert "Your hold expired" in html and '<span class="badge bad">Expired</span>' in html
    assert '<dd data-testid="status">Released (expired)</dd>' in html
    assert f'href="{reverse("product", args=[stock.product_id])}"' in html
    assert "Hold again" in html


def test_the_payment_step_of_a_settled_hold_goes_back_to_its_page(client, stock):
    reservation = hold(stock)
    transitions.release(reservation_id=reservation.id)

    plain = client.get(pay_url(reservation))
    htmx = client.get(pay_url(reservation), HTTP_HX_REQUEST="true")

    assert plain.status_code == 302 and plain["Location"] == page_url(reservation)
    assert htmx["HX-Redirect"] == page_url(reservation)


def test_paying_a_cancelled_hold_is_refused_kindly(client, stock):
    reservation = hold(stock)
    transitions.release(reservation_id=reservation.id)

    response = client.post(pay_url(reservation), {"method": "cod"}, follow=True)

    assert shown_messages(response) == ["This hold is already settled, so nothing changed."]
    assert stored(reservation).status == Status.RELEASED
    assert counters(stock) == (10, 0)


def test_paying_twice_confirms_once(client, stock):
    reservation = hold(stock)
    client.post(pay_url(reservation), {"method": "upi"})

    client.post(pay_url(reservation), {"method": "upi"})

    assert stored(reservation).status == Status.CONFIRMED
    assert counters(stock) == (9, 0)


# --- cancel -------------------------------------------------------------------------------------


def test_cancel_releases_the_hold_and_offers_to_hold_again(client, stock):
    reservation = hold(stock, quantity=3)

    response = client.post(page_url(reservation), {"action": "release"})

    assert response.status_code == 302 and response["Location"] == page_url(reservation)
    released = stored(reservation)
    assert (released.status, released.release_reason) == (Status.RELEASED, Reason.CANCELLED)
    assert counters(stock) == (10, 0)
    page = client.get(page_url(reservation))
    assert shown_messages(page) == ["Your hold is cancelled and its units went back on sale."]
    html = page.content.decode()
    assert 'data-state="cancelled"' in html and "You cancelled this hold" in html
    assert '<dd data-testid="status">Released (cancelled)</dd>' in html
    assert f'href="{reverse("product", args=[stock.product_id])}"' in html
    assert "Released at" in html
    assert "data-countdown" not in html and "Confirm purchase" not in html


def test_cancelling_an_expired_hold_says_it_expired(client, stock):
    reservation = hold(stock)
    make_due(reservation)

    response = client.post(page_url(reservation), {"action": "release"}, follow=True)

    assert shown_messages(response) == [
        "Your hold expired and the units went back on sale. "
        "Hold them again if they are still there."
    ]
    assert stored(reservation).release_reason == Reason.EXPIRED


def test_cancelling_a_confirmed_hold_is_refused_kindly(client, stock):
    reservation = hold(stock)
    transitions.confirm(reservation_id=reservation.id)

    response = client.post(page_url(reservation), {"action": "release"}, follow=True)

    assert shown_messages(response) == ["This hold is already settled, so nothing changed."]
    assert stored(reservation).status == Status.CONFIRMED
    assert counters(stock) == (9, 0)


# --- other states -------------------------------------------------------------------------------


def test_reading_a_hold_whose_time_is_up_shows_it_expired(client, stock):
    reservation = hold(stock)
    make_due(reservation)

    html = client.get(page_url(reservation)).content.decode()

    assert 'data-state="expired"' in html and "Your hold expired" in html
    assert "Confirm purchase" not in html and 'value="extend"' not in html
    assert stored(reservation).status == Status.RELEASED
    assert counters(stock) == (10, 0)


def test_a_hold_released_by_staff_says_it_was_released(client, stock):
    reservation = hold(stock)
    transitions.release(reservation_id=reservation.id, reason=Reason.ADMIN)

    html = client.get(page_url(reservation)).content.decode()

    assert 'data-state="released"' in html and "This hold was released" in html
    assert "(admin)" in html


# --- who may see it, and bad requests ------------------------------------------------------------


def test_unknown_hold_is_404(client):
    missing = uuid.uuid4()
    page = reverse("checkout", kwargs={"reservation_id": missing})
    pay = reverse("checkout-pay", kwargs={"reservation_id": missing})

    assert client.get(page).status_code == 404
    assert client.post(page, {"action": "release"}).status_code == 404
    assert client.post(page, {"action": "extend"}).status_code == 404
    assert client.get(pay).status_code == 404
    assert client.post(pay, {"method": "upi"}).status_code == 404
    assert client.post(pay, {}).status_code == 404


def test_a_malformed_id_is_404(client):
    assert client.get("/checkout/not-a-uuid/").status_code == 404


def test_a_shoppers_hold_is_theirs_alone(client, stock):
    owner, someone_else = UserFactory(), UserFactory()
    reservation = hold(stock, user=owner)
    client.force_login(someone_else)

    assert client.get(page_url(reservation)).status_code == 404
    assert client.get(pay_url(reservation)).status_code == 404
    assert client.post(page_url(reservation), {"action": "release"}).status_code == 404
    assert client.post(page_url(reservation), {"action": "extend"}).status_code == 404
    assert client.post(pay_url(reservation), {"method": "upi"}).status_code == 404
    assert Client().get(page_url(reservation)).status_code == 404  # nor an anonymous visitor

    unchanged = stored(reservation)
    assert (unchanged.status, unchanged.extended) == (Status.PENDING, False)
    assert counters(stock) == (10, 1)


def test_the_owner_sees_and_confirms_their_hold(client, stock):
    owner = UserFactory()
    reservation = hold(stock, user=owner)
    client.force_login(owner)

    assert client.get(page_url(reservation)).status_code == 200
    client.post(pay_url(reservation), {"method": "cod"})

    assert stored(reservation).status == Status.CONFIRMED


def test_an_anonymous_hold_opens_by_its_id_in_any_browser(stock):
    reservation = hold(stock)

    response = Client().get(page_url(reservation))

    assert response.status_code == 200
    assert 'data-state="pending"' in response.content.decode()


@pytest.mark.parametrize("data", [{"action": "explode"}, {"action": "confirm"}, {}])
def test_a_bad_action_is_400_and_changes_nothing(client, stock, data):
    reservation = hold(stock)

    response = client.post(page_url(reservation), data)

    assert response.status_code == 400
    assert "Unknown checkout action" in response.content.decode()
    unchanged = stored(reservation)
    assert (unchanged.status, unchanged.extended) == (Status.PENDING, False)
    assert counters(stock) == (10, 1)


def test_other_methods_are_refused(client, stock):
    reservation = hold(stock)

    assert client.put(page_url(reservation)).status_code == 405
    assert client.delete(pay_url(reservation)).status_code == 405
