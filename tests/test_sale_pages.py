"""A drop on the storefront: the product page counts down to the sale's start on the server's
clock, the live stream says when the sale opens or ends, and refusals by the sale's rules
(not on sale, account required, limit reached) read as sentences with the next step."""

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from reservations.models import Reservation
from sales import services
from sales.errors import LimitReached, NotOnSale
from sales.rules import ENDED, OPEN, UPCOMING, window_state
from storefront import drops
from storefront.error_messages import friendly
from storefront.live import hub
from storefront.live.sales import SaleWatch, Window
from tests.factories import InventoryFactory, UserFactory
from tests.test_live_stock import STREAM, data_of, open_stream, run

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def row():
    return InventoryFactory(total_stock=10, product__name="Limited Sneaker")


def _url(row, action: str | None = None) -> str:
    name = "product" if action is None else f"product-{action}"
    return reverse(name, kwargs={"product_id": row.product_id})


def _page(client, row, **headers) -> str:
    response = client.get(_url(row), headers=headers)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _panel(page: str) -> str:
    match = re.search(r'<section id="buy-panel".*?</section>', page, re.S)
    assert match, "no buy panel"
    return match.group(0)


def _reserve(client, row, quantity: int = 1):
    return client.post(_url(row, "reserve"), {"warehouse": row.warehouse_id, "quantity": quantity})


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _policy(row, **fields) -> None:
    services.set_policy(row.product_id, fields)


def _in(**delta) -> datetime:
    return timezone.now() + timedelta(**delta)


# --- the buy panel ---------------------------------------------------------------------------


def test_before_the_start_the_panel_counts_down_and_reserve_waits(client, row):
    starts = _in(hours=1, minutes=2, seconds=3, milliseconds=500)
    _policy(row, sale_starts_at=starts)

    panel = _panel(_page(client, row))

    assert 'data-sale-state="upcoming"' in panel
    clock = re.search(r'data-testid="sale-clock">([^<]+)<', panel).group(1)
    assert clock in ("01:02:03", "01:02:04")  # HH:MM:SS, rounded up
    seconds = int(re.search(r'data-countdown-seconds="(\d+)"', panel).group(1))
    assert 3720 <= seconds <= 3724
    # The browser counts down from the server's figures, never from its own clock.
    server_now = re.search(r'data-countdown-server-now="([^"]+)"', panel).group(1)
    assert abs(datetime.fromisoformat(server_now) - timezone.now()) < timedelta(seconds=5)
    assert f'data-countdown-starts-at="{drops.iso(starts)}"' in panel
    assert "On sale in" in panel and "Not on sale yet" in panel
    assert re.search(r'<button type="button" class="reserve" disabled', panel)
    assert 'type="submit" class="reserve"' not in panel
    assert reverse("product-add-to-cart", kwargs={"product_id": row.product_id}) not in panel


def test_an_open_sale_offers_reserve_and_follows_the_stream(client, row):
    _policy(row, sale_starts_at=_in(minutes=-1), sale_ends_at=_in(hours=1))

    panel = _panel(_page(client, row))

    assert 'data-sale-state="open"' in panel
    assert re.search(r'<button type="submit" class="reserve">.*?Reserve</button>', panel, re.S)
    assert "On sale in" not in panel
    # The panel fetches itself again when the stream says the sale changed; a countdown's
    # end does so too, should the stream be down.
    assert 'hx-trigger="sale:changed, countdown:end delay:5s"' in panel
    assert f'hx-get="{_url(row)}"' in panel


def test_after_the_end_the_panel_says_sale_ended(client, row):
    _policy(row, sale_starts_at=_in(hours=-2), sale_ends_at=_in(minutes=-1))

    panel = _panel(_page(client, row))

    assert 'data-sale-state="ended"' in panel
    assert "Sale ended" in panel
    assert 'id="buy-form"' not in panel and "Reserve" not in panel


def test_a_product_without_a_window_is_not_followed(client, row):
    _policy(row, limit_per_customer=3)

    panel = _panel(_page(client, row))

    assert "data-sale-state" not in panel and "hx-get" not in panel
    assert "Limit 3 per customer" in panel


def test_the_limit_is_shown_and_bounds_the_quantity(client, row):
    _policy(row, limit_per_customer=2)

    panel = _panel(_page(client, row))

    assert 'data-testid="sale-limit"' in panel and "Limit 2 per customer" in panel
    assert 'max="2"' in panel


def test_the_hold_note_follows_the_products_hold_length(client, row):
    _policy(row, hold_seconds=90, hold_seconds_signed_in=300)
    assert "Held for 90 seconds" in _panel(_page(client, row))

    client.force_login(UserFactory())
    assert "Held for 5 minutes" in _panel(_page(client, row))


def test_a_guest_is_told_an_account_is_needed_with_a_way_back(client, row):
    _policy(row, requires_account=True)

    panel = _panel(_page(client, row))

    hint = re.search(r'<li data-testid="account-required">.*?</li>', panel, re.S).group(0)
    back = f"{_url(row)}?warehouse={row.warehouse_id}"
    for name in ("login", "signup"):
        link = re.search(rf'href="({reverse(name)}\?next=[^"]+)"', hint).group(1)
        assert parse_qs(urlsplit(link).query)["next"] == [back]


def test_a_signed_in_shopper_sees_no_account_hint(client, row):
    _policy(row, requires_account=True)
    client.force_login(UserFactory())

    assert 'data-testid="account-required"' not in _page(client, row)


def test_htmx_asks_for_the_buy_panel_alone(client, row):
    _policy(row, sale_starts_at=_in(seconds=-1))

    response = client.get(
        _url(row),
        {"warehouse": row.warehouse_id, "quantity": 2},
        headers={"HX-Request": "true", "HX-Target": "buy-panel"},
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="buy-panel"')
    assert 'data-sale-state="open"' in body and 'value="2"' in body


def test_the_page_reads_the_sale_in_one_query(client, row, django_assert_max_num_queries):
    _policy(row, sale_starts_at=_in(hours=1), limit_per_customer=2)
    with django_assert_max_num_queries(3):  # product, stock rows, sale rules
        client.get(_url(row))


# --- holds the sale refuses ------------------------------------------------------------------


def _nothing_held(row) -> None:
    assert not Reservation.objects.filter(product_id=row.product_id).exists()
    row.refresh_from_db()
    assert row.reserved_stock == 0


def test_reserving_before_the_start_says_when_it_opens(client, row):
    _policy(row, sale_starts_at=_in(hours=1))

    response = _reserve(client, row)

    assert response.status_code == 302
    assert response["Location"] == f"{_url(row)}?warehouse={row.warehouse_id}"
    [message] = _messages(response)
    assert message.startswith("Not on sale yet: it opens ")
    _nothing_held(row)


def test_a_guests_reserve_of_an_account_only_product_goes_to_sign_in_and_back(client, row):
    _policy(row, requires_account=True)
    user = UserFactory(email="ann@example.com")
    user.set_password(PASSWORD)
    user.save()

    refused = _reserve(client, row)

    back = f"{_url(row)}?warehouse={row.warehouse_id}"
    location = urlsplit(refused["Location"])
    assert location.path == reverse("login")
    assert parse_qs(location.query)["next"] == [back]
    assert "sign in or create an account" in _messages(refused)[0]
    _nothing_held(row)

    sign_in = html.unescape(client.get(refused["Location"]).content.decode())
    assert f'name="next" value="{back}"' in sign_in
    assert f"{reverse('signup')}?next=" in sign_in  # signing up comes back too
    signed_in = client.post(
        reverse("login"), {"username": "ann@example.com", "password": PASSWORD, "next": back}
    )
    assert signed_in["Location"] == back
    assert _reserve(client, row)["Location"].startswith("/checkout/")


def test_signing_up_from_the_hint_comes_back_to_the_product(client, row):
    back = f"{_url(row)}?warehouse={row.warehouse_id}"
    response = client.post(
        f"{reverse('signup')}?next={back}",
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == back


def test_reserving_over_the_limit_says_the_limit(client, row):
    _policy(row, limit_per_customer=2)
    client.force_login(UserFactory())
    assert _reserve(client, row, 2)["Location"].startswith("/checkout/")

    refused = _reserve(client, row, 1)

    assert refused["Location"] == f"{_url(row)}?warehouse={row.warehouse_id}"
    assert _messages(refused) == [
        "Limit 2 per customer: you already hold 2. "
        "Check out or cancel a hold in My reservations to hold more."
    ]
    assert Reservation.objects.filter(product_id=row.product_id).count() == 1


def test_refusals_read_as_sentences():
    later = (timezone.now() + timedelta(days=1)).isoformat()
    assert friendly(NotOnSale(saleStartsAt=later)).startswith("Not on sale yet: it opens ")
    earlier = (timezone.now() - timedelta(days=1)).isoformat()
    assert friendly(NotOnSale(saleStartsAt=earlier)) == (
        "This sale has ended, so it can no longer be reserved."
    )
    assert friendly(LimitReached(limit=3, alreadyHeld=1)) == (
        "Limit 3 per customer: you hold 1, so you can add 2 more."
    )


# --- the sale's state, pure ------------------------------------------------------------------

NOON = datetime(2030, 1, 1, 12, tzinfo=UTC)


def test_the_state_turns_at_the_start_and_at_the_end():
    starts, ends = NOON, NOON + timedelta(hours=1)
    second = timedelta(seconds=1)
    assert window_state(starts, ends, starts - second) == UPCOMING
    assert window_state(starts, ends, starts) == OPEN
    assert window_state(starts, ends, ends) == ENDED
    assert drops.next_change(starts, ends, starts - second) == starts
    assert drops.next_change(starts, ends, starts) == ends
    assert drops.next_change(starts, ends, ends) is None


def test_a_watch_speaks_on_opening_and_on_each_change_only():
    watch = SaleWatch(7)
    window = Window(NOON, None)
    first = watch.news(window, NOON - timedelta(seconds=3))
    assert first.startswith(b"event: sale\ndata: ") and b'"state":"upcoming"' in first
    assert b"\nid:" not in first  # the stream's resume point stays a ledger position
    assert watch.news(window, NOON - timedelta(seconds=2)) is None
    assert watch.seconds_to_wait(NOON - timedelta(seconds=2), at_most=15) == pytest.approx(2.05)
    assert watch.due(NOON) and b'"state":"open"' in watch.news(window, NOON)
    assert SaleWatch(8).news(None, NOON) is None  # no window: no sale events at all


# --- the live stream -------------------------------------------------------------------------


async def _sale_event(reader) -> dict:
    """The stream's next `sale` event (stock messages of the product may come between)."""
    while True:
        block = await reader.message()
        if block.get("event") == "sale":
            return block


@pytest.mark.django_db(transaction=True)
def test_the_products_stream_says_the_sale_opens_at_the_start(row, monkeypatch):
    monkeypatch.setattr(hub, "POLL_SECONDS", 0.05)
    # Far enough ahead that a loaded machine opens the stream before the start.
    starts = timezone.now() + timedelta(seconds=4)
    _policy(row, sale_starts_at=starts)

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?product={row.product_id}")
        said = await _sale_event(reader)
        assert "id" not in said
        assert data_of(said) == {
            "productId": str(row.product_id),
            "state": "upcoming",
            "saleStartsAt": drops.iso(starts),
            "saleEndsAt": None,
        }
        opened = await _sale_event(reader)
        assert timezone.now() >= starts
        assert data_of(opened)["state"] == "open"

    run(scenario)


@pytest.mark.django_db(transaction=True)
def test_a_stream_opened_after_the_start_says_open_at_once(row):
    _policy(row, sale_starts_at=timezone.now() - timedelta(seconds=1))

    async def scenario():
        reader, _ = await open_stream(f"{STREAM}?product={row.product_id}")
        said = await asyncio.wait_for(_sale_event(reader), 5)
        assert data_of(said)["state"] == "open"

    run(scenario)
