"""The product page: details, stock, delivery by pincode, and reserve / add to cart / waitlist."""

import html
import re
import uuid

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from reservations import guests
from reservations.models import Reservation, WaitlistEntry
from reservations.services import holds
from storefront import cart
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WaitlistEntryFactory
from tests.places import five_warehouses, held_in

pytestmark = pytest.mark.django_db

BANGALORE_PINCODE = "560001"


@pytest.fixture
def stocked():
    """A product in the five original warehouses: 10 units each, 1 in Mumbai, none in Delhi."""
    product, rows = five_warehouses(10, BOM=1, DEL=0)
    product.name = "Trail Runner"
    product.brand = "Stride"
    product.category = "Fitness"
    product.price = "1499.00"
    product.description = "A light running shoe with a grippy sole."
    product.colors = ["Black/Blue", "Red"]
    product.size = "UK 6-11"
    product.box_contents = "Pair of shoes, spare laces, dust bag"
    product.image = "img/categories/fitness.svg"
    product.save()
    return product, rows


def _url(product, action: str | None = None) -> str:
    if action is None:
        return reverse("product", kwargs={"product_id": product.id})
    return reverse(f"product-{action}", kwargs={"product_id": product.id})


def _page(client, product, **params) -> str:
    response = client.get(_url(product), params)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _option(page: str, warehouse_id: int) -> str:
    """The markup of one warehouse's option on the page."""
    match = re.search(
        rf'<label class="warehouse-option[^"]*"\s+data-warehouse-id="{warehouse_id}">(.*?)</label>',
        page,
        re.S,
    )
    assert match, f"no option for warehouse {warehouse_id}"
    return match.group(1)


def _checked_warehouse(page: str) -> int:
    checked = re.findall(r'name="warehouse" value="(\d+)" form="buy-form"\s+checked', page)
    assert len(checked) == 1
    return int(checked[0])


def _errors(page: str, field: str) -> list[str]:
    match = re.search(rf'<ul class="errorlist" id="{field}-errors"[^>]*>(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def _nothing_held(rows) -> None:
    assert Reservation.objects.count() == 0
    assert set(held_in(rows).values()) == {0}


# --- the page -------------------------------------------------------------------------------


def test_page_shows_the_product_details(client, stocked):
    product, _ = stocked
    page = _page(client, product)
    assert '<h1 class="product-title">Trail Runner</h1>' in page
    assert '<span class="brand" data-testid="brand">Stride</span>' in page
    assert ">Fitness</a>" in page and "?category=Fitness" in page
    assert '<p class="price product-price" data-testid="price">₹1,499</p>' in page
    assert "A light running shoe with a grippy sole." in page
    assert "UK 6-11" in page
    assert "Black/Blue" in page and "Red" in page
    assert 'data-swatch="linear-gradient(135deg, #111827 50%, #2563eb 50%)"' in page
    for item in ("Pair of shoes", "Spare laces", "Dust bag"):
        assert f"{item}</li>" in page
    assert '<img src="/static/img/categories/fitness.svg" alt="Trail Runner, Fitness"' in page
    assert "<title>Trail Runner · stockd</title>" in page


def test_page_lists_available_units_per_warehouse(client, stocked):
    product, rows = stocked
    holds.reserve(
        product_id=product.id, warehouse_id=rows["CHN"].warehouse_id, quantity=3, user=None
    )
    page = _page(client, product)
    assert "<span data-available>7</span> available" in _option(page, rows["CHN"].warehouse_id)
    assert "<span data-available>1</span> available" in _option(page, rows["BOM"].warehouse_id)
    assert "Sold out" in _option(page, rows["DEL"].warehouse_id)
    assert '<span data-testid="total-available">28</span> in stock across 5 warehouses' in page


def test_without_a_pincode_the_fullest_warehouse_is_chosen(client, stocked):
    product, rows = stocked
    rows["HYD"].total_stock = 40
    rows["HYD"].save()
    page = _page(client, product)
    assert _checked_warehouse(page) == rows["HYD"].warehouse_id
    assert "Enter your pincode to see each warehouse's distance" in page
    assert "Recommended" not in page


def test_warehouse_in_the_query_is_chosen_and_bounds_the_quantity(client, stocked):
    product, rows = stocked
    page = _page(client, product, warehouse=rows["BOM"].warehouse_id)
    assert _checked_warehouse(page) == rows["BOM"].warehouse_id
    assert 'max="1"' in page
    assert '<span data-testid="chosen-available">1</span> available in Mumbai.' in page


def test_quantity_is_bounded_by_the_hold_limit(client, settings, stocked):
    settings.MAX_QUANTITY_PER_RESERVATION = 5
    product, rows = stocked
    page = _page(client, product, warehouse=rows["CHN"].warehouse_id)
    assert 'min="1" max="5"' in page
    assert (
        '<span data-testid="chosen-available">10</span> available in Chennai; up to 5 per hold.'
        in page
    )


def test_unknown_warehouse_in_the_query_is_ignored(client, stocked):
    product, rows = stocked
    page = _page(client, product, warehouse="99999", quantity="abc")
    assert _checked_warehouse(page) in {row.warehouse_id for row in rows.values()}
    assert 'name="quantity" inputmode="numeric" min="1"' in page


def test_unknown_product_is_a_404_page(client):
    response = client.get(reverse("product", kwargs={"product_id": 987654}))
    assert response.status_code == 404
    page = html.unescape(response.content.decode())
    assert "We couldn't find that product" in page and "<html" in page


def test_inactive_product_is_a_404_page(client, stocked):
    product, _ = stocked
    product.active = False
    product.save()
    assert client.get(_url(product)).status_code == 404


def test_product_page_answers_only_get(client, stocked):
    product, _ = stocked
    assert client.post(_url(product)).status_code == 405
    for action in ("reserve", "add-to-cart", "waitlist"):
        assert client.get(_url(product, action)).status_code == 405


def test_every_htmx_request_has_a_plain_fallback(client, stocked):
    product, _ = stocked
    page = client.get(_url(product)).content.decode()
    tags = re.findall(r"<(?:form|fieldset)\b[^>]*\bhx-get=[^>]*>", page)
    assert len(tags) == 2
    pincode_form = next(tag for tag in tags if tag.startswith("<form"))
    assert f'action="{_url(product)}"' in pincode_form and 'method="get"' in pincode_form
    # The warehouse radios belong to the buy form, so a plain POST carries the choice.
    assert page.count('form="buy-form"') == 5
    assert 'id="buy-form" method="post"' in page


def test_product_page_uses_no_cdn(client, stocked):
    product, _ = stocked
    page = client.get(_url(product), {"pincode": BANGALORE_PINCODE}).content.decode()
    assert "https://" not in page and "http://" not in page


# --- delivery by pincode --------------------------------------------------------------------


def test_pincode_lists_distance_shipping_and_delivery_with_the_recommended(client, stocked):
    product, rows = stocked
    page = _page(client, product, pincode=BANGALORE_PINCODE)
    assert "Delivering to <strong>Bangalore, Karnataka</strong>" in page
    bangalore = _option(page, rows["BLR"].warehouse_id)
    assert "0 km" in bangalore and "Free shipping" in bangalore and "Next day" in bangalore
    assert 'data-testid="recommended"' in bangalore
    delhi = _option(page, rows["DEL"].warehouse_id)
    assert "₹99 shipping" in delhi and "6-8 days" in delhi and "Sold out" in delhi
    assert page.count('data-testid="recommended"') == 1
    assert _checked_warehouse(page) == rows["BLR"].warehouse_id
    cities = re.findall(r'<strong class="city">(\w+)</strong>', page)
    assert cities[0] == "Bangalore" and cities[-1] == "Delhi"  # nearest first
    assert f'name="pincode" value="{BANGALORE_PINCODE}"' in page  # kept for the buy form


def test_recommended_warehouse_skips_a_sold_out_nearest(client):
    product, rows = five_warehouses(10, BLR=0)
    page = _page(client, product, pincode=BANGALORE_PINCODE)
    assert 'data-testid="recommended"' in _option(page, rows["CHN"].warehouse_id)
    assert _checked_warehouse(page) == rows["CHN"].warehouse_id


def test_sold_out_everywhere_the_nearest_warehouse_is_chosen_for_the_waitlist(client):
    product, rows = five_warehouses(0)
    page = _page(client, product, pincode=BANGALORE_PINCODE)
    assert _checked_warehouse(page) == rows["BLR"].warehouse_id
    assert "Sold out in Bangalore" in page


def test_recommendation_follows_the_quantity_asked_for(client):
    product, rows = five_warehouses(10, BLR=2)
    page = _page(client, product, pincode=BANGALORE_PINCODE, quantity="5")
    assert 'data-testid="recommended"' in _option(page, rows["CHN"].warehouse_id)


@pytest.mark.parametrize(
    ("pincode", "message"),
    [
        ("abc", "A pincode has 6 digits and does not start with 0, e.g. 560001."),
        ("012345", "A pincode has 6 digits and does not start with 0, e.g. 560001."),
        ("5600011", "A pincode has 6 digits and does not start with 0, e.g. 560001."),
        ("", "Enter your 6-digit pincode to see delivery options."),
        (
            "990001",
            "Sorry, we don't deliver to that pincode yet. Check the 6 digits, or try another.",
        ),
    ],
)
def test_bad_pincode_is_explained_next_to_the_field(client, stocked, pincode, message):
    product, _ = stocked
    page = _page(client, product, pincode=pincode)
    assert _errors(page, "pincode") == [message]
    assert 'aria-invalid="true" aria-describedby="pincode-errors"' in page
    assert "Delivering to" not in page and "Recommended" not in page


def test_htmx_pincode_check_swaps_the_delivery_partial_and_the_buy_panel(client, stocked):
    product, rows = stocked
    response = client.get(
        _url(product),
        {"pincode": BANGALORE_PINCODE},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="delivery",
    )
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert page.lstrip().startswith('<section id="delivery"')
    assert "<html" not in page
    assert (
        '<section id="buy-panel" class="card buy" aria-labelledby="buy-title" hx-swap-oob="true">'
        in page
    )
    assert _checked_warehouse(page) == rows["BLR"].warehouse_id
    assert 'Ships from <strong data-testid="ships-from">Bangalore Warehouse</strong>' in page
    assert "HX-Target" in response["Vary"]


def test_htmx_bad_pincode_answers_the_partial_with_the_message(client, stocked):
    product, _ = stocked
    response = client.get(
        _url(product), {"pincode": "99"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="delivery"
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert page.lstrip().startswith('<section id="delivery"')
    assert _errors(page, "pincode") == [
        "A pincode has 6 digits and does not start with 0, e.g. 560001."
    ]


def test_htmx_warehouse_change_swaps_only_the_buy_panel(client, stocked):
    product, rows = stocked
    response = client.get(
        _url(product),
        {"warehouse": rows["DEL"].warehouse_id, "quantity": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="buy-panel",
    )
    page = html.unescape(response.content.decode())
    assert page.lstrip().startswith('<section id="buy-panel"')
    assert "hx-swap-oob" not in page
    assert "Sold out in Delhi" in page and 'name="email"' in page
    assert f'action="{_url(product, "waitlist")}"' in page


def test_htmx_history_restore_gets_the_whole_page(client, stocked):
    product, _ = stocked
    response = client.get(
        _url(product),
        {"pincode": BANGALORE_PINCODE},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="delivery",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_page_with_a_quote_runs_few_queries(client, stocked, django_assert_max_num_queries):
    product, _ = stocked
    with django_assert_max_num_queries(4):  # product + stock rows, the quote, the session
        client.get(_url(product), {"pincode": BANGALORE_PINCODE})


# --- reserve --------------------------------------------------------------------------------


def _guest_of(response) -> uuid.UUID | None:
    request = RequestFactory().get("/")
    request.COOKIES[guests.COOKIE] = response.cookies[guests.COOKIE].value
    return guests.browser_guest_id(request)


def test_reserve_holds_and_goes_to_checkout_with_a_guest_cookie(client, stocked):
    product, rows = stocked
    response = client.post(
        _url(product, "reserve"),
        {"warehouse": rows["CHN"].warehouse_id, "quantity": "3", "pincode": BANGALORE_PINCODE},
    )
    reservation = Reservation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("checkout", kwargs={"reservation_id": reservation.id})
    assert (reservation.product_id, reservation.warehouse_id) == (
        product.id,
        rows["CHN"].warehouse_id,
    )
    assert reservation.quantity == 3 and reservation.status == Reservation.Status.PENDING
    assert held_in(rows)["CHN"] == 3
    assert reservation.user_id is None
    assert reservation.guest_id is not None and _guest_of(response) == reservation.guest_id


def test_a_second_reserve_keeps_the_same_guest(client, stocked):
    product, rows = stocked
    first = client.post(
        _url(product, "reserve"), {"warehouse": rows["CHN"].warehouse_id, "quantity": "1"}
    )
    second = client.post(
        _url(product, "reserve"), {"warehouse": rows["HYD"].warehouse_id, "quantity": "1"}
    )
    assert second.status_code == 302 and guests.COOKIE not in second.cookies
    assert {r.guest_id for r in Reservation.objects.all()} == {_guest_of(first)}


def test_signed_in_shopper_reserves_for_the_account(client, stocked):
    product, rows = stocked
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        _url(product, "reserve"), {"warehouse": rows["BLR"].warehouse_id, "quantity": "2"}
    )
    reservation = Reservation.objects.get()
    assert response.status_code == 302
    assert reservation.user_id == user.id and reservation.guest_id is None
    assert guests.COOKIE not in response.cookies


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Choose at least 1."),
        ("101", "At most 100 per hold."),
        ("abc", "Enter a whole number of units, e.g. 1."),
        ("", "Choose how many you want."),
        ("2.5", "Enter a whole number of units, e.g. 1."),
    ],
)
def test_reserve_bad_quantity_is_refused_next_to_the_field(client, stocked, quantity, message):
    product, rows = stocked
    response = client.post(
        _url(product, "reserve"), {"warehouse": rows["CHN"].warehouse_id, "quantity": quantity}
    )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert _errors(page, "quantity") == [message]
    assert 'aria-invalid="true"' in page
    assert f'value="{quantity}"' in page  # what the shopper typed, to correct
    assert _checked_warehouse(page) == rows["CHN"].warehouse_id
    assert guests.COOKIE not in response.cookies
    _nothing_held(rows)


@pytest.mark.parametrize("warehouse", ["99999", "abc", ""])
def test_reserve_in_an_unknown_warehouse_is_refused(client, stocked, warehouse):
    product, rows = stocked
    response = client.post(_url(product, "reserve"), {"warehouse": warehouse, "quantity": "1"})
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    expected = (
        "Choose the warehouse to ship from."
        if not warehouse
        else ("Choose one of the warehouses listed.")
    )
    assert _errors(page, "warehouse") == [expected]
    _nothing_held(rows)


def test_reserve_in_a_warehouse_not_stocking_the_product_is_refused(client, stocked):
    product, rows = stocked
    elsewhere = InventoryFactory()  # another product's warehouse
    response = client.post(
        _url(product, "reserve"), {"warehouse": elsewhere.warehouse_id, "quantity": "1"}
    )
    assert response.status_code == 400
    _nothing_held(rows)


def test_reserve_more_than_the_warehouse_has_is_refused(client, stocked):
    product, rows = stocked
    response = client.post(
        _url(product, "reserve"), {"warehouse": rows["CHN"].warehouse_id, "quantity": "11"}
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert _errors(page, "quantity") == [
        "Only 10 available in Chennai. Lower the quantity or choose another warehouse."
    ]
    _nothing_held(rows)


def test_reserve_in_a_sold_out_warehouse_offers_the_waitlist(client, stocked):
    product, rows = stocked
    response = client.post(
        _url(product, "reserve"), {"warehouse": rows["DEL"].warehouse_id, "quantity": "1"}
    )
    page = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert _errors(page, "quantity") == [
        "Sold out in Delhi. Join the waitlist below, or choose another warehouse."
    ]
    assert 'name="email"' in page and "Join the waitlist" in page
    assert f'action="{_url(product, "waitlist")}"' in page
    _nothing_held(rows)


def test_losing_the_race_for_the_last_unit_is_a_friendly_message(client, stocked, monkeypatch):
    product, rows = stocked
    real_reserve = holds.reserve

    def someone_else_first(**attempt):
        real_reserve(
            product_id=attempt["product_id"],
            warehouse_id=attempt["warehouse_id"],
            quantity=1,
            user=None,
            guest_id=uuid.uuid4(),
        )
        return real_reserve(**attempt)

    monkeypatch.setattr(holds, "reserve", someone_else_first)
    mumbai = rows["BOM"].warehouse_id
    response = client.post(
        _url(product, "reserve"),
        {"warehouse": mumbai, "quantity": "1", "pincode": BANGALORE_PINCODE},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{_url(product)}?warehouse={mumbai}&pincode={BANGALORE_PINCODE}"
    assert guests.COOKIE not in response.cookies
    assert Reservation.objects.count() == 1  # the other shopper's
    assert held_in(rows)["BOM"] == 1

    page = _page(client, product, warehouse=mumbai, pincode=BANGALORE_PINCODE)
    assert (
        "Someone just took the last one in Mumbai. Try another warehouse or join the waitlist."
        in page
    )
    assert "Sold out in Mumbai" in page and 'name="email"' in page


def test_losing_some_units_to_a_race_says_how_many_are_left(client, stocked, monkeypatch):
    product, rows = stocked
    real_reserve = holds.reserve

    def others_take_eight(**attempt):
        real_reserve(**{**attempt, "quantity": 8, "user": None, "guest_id": uuid.uuid4()})
        return real_reserve(**attempt)

    monkeypatch.setattr(holds, "reserve", others_take_eight)
    response = client.post(
        _url(product, "reserve"), {"warehouse": rows["CHN"].warehouse_id, "quantity": "5"}
    )
    assert response.status_code == 302
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert "Someone just took some: 2 left in Chennai." in page
    assert held_in(rows)["CHN"] == 8


def test_reserve_of_an_unknown_product_is_404(client):
    response = client.post(
        reverse("product-reserve", kwargs={"product_id": 987654}),
        {"warehouse": "1", "quantity": "1"},
    )
    assert response.status_code == 404
    assert Reservation.objects.count() == 0


# --- add to cart ----------------------------------------------------------------------------


def test_add_to_cart_puts_a_line_in_the_session_and_comes_back(client, stocked):
    product, rows = stocked
    hyderabad = rows["HYD"].warehouse_id
    response = client.post(
        _url(product, "add-to-cart"),
        {"warehouse": hyderabad, "quantity": "2", "pincode": BANGALORE_PINCODE},
    )
    assert response.status_code == 302
    assert (
        response["Location"] == f"{_url(product)}?warehouse={hyderabad}&pincode={BANGALORE_PINCODE}"
    )
    session_cart = client.session[cart.SESSION_KEY]
    assert session_cart == [{"product": product.id, "warehouse": hyderabad, "quantity": 2}]
    _nothing_held(rows)

    page = _page(client, product, warehouse=hyderabad)
    assert "Added 2 × Trail Runner from Hyderabad to your cart." in page
    assert '<span class="badge" data-testid="cart-units">2</span>' in page


def test_adding_again_adds_to_the_same_line(client, stocked):
    product, rows = stocked
    for _ in range(2):
        client.post(
            _url(product, "add-to-cart"), {"warehouse": rows["CHN"].warehouse_id, "quantity": "3"}
        )
    assert client.session[cart.SESSION_KEY][0]["quantity"] == 6


@pytest.mark.parametrize("quantity", ["0", "101", "abc"])
def test_add_to_cart_bad_quantity_changes_nothing(client, stocked, quantity):
    product, rows = stocked
    response = client.post(
        _url(product, "add-to-cart"), {"warehouse": rows["CHN"].warehouse_id, "quantity": quantity}
    )
    assert response.status_code == 400
    assert _errors(html.unescape(response.content.decode()), "quantity")
    assert cart.SESSION_KEY not in client.session
    _nothing_held(rows)


def test_add_to_cart_from_a_sold_out_warehouse_is_refused(client, stocked):
    product, rows = stocked
    response = client.post(
        _url(product, "add-to-cart"), {"warehouse": rows["DEL"].warehouse_id, "quantity": "1"}
    )
    assert response.status_code == 400
    assert cart.SESSION_KEY not in client.session


# --- waitlist -------------------------------------------------------------------------------


def _join(client, product, warehouse_id, email="ann@example.com", quantity="1"):
    return client.post(
        _url(product, "waitlist"),
        {"warehouse": warehouse_id, "quantity": quantity, "email": email},
    )


def test_sold_out_warehouse_shows_the_waitlist_form(client, stocked):
    product, rows = stocked
    page = _page(client, product, warehouse=rows["DEL"].warehouse_id)
    assert '<input type="email" id="email" name="email"' in page
    assert "Join the waitlist" in page and ">Reserve<" not in page
    assert "Or choose another warehouse above: it is in stock elsewhere." in page


def test_joining_the_waitlist_says_the_position(client, stocked):
    product, rows = stocked
    delhi = rows["DEL"].warehouse_id
    WaitlistEntryFactory(product=product, warehouse=rows["DEL"].warehouse)
    response = _join(client, product, delhi, quantity="2")
    assert response.status_code == 302
    assert response["Location"] == f"{_url(product)}?warehouse={delhi}"
    entry = WaitlistEntry.objects.get(email="ann@example.com")
    assert (entry.product_id, entry.warehouse_id, entry.quantity) == (product.id, delhi, 2)
    page = _page(client, product, warehouse=delhi)
    assert "You're #2 on the waitlist for Trail Runner in Delhi." in page


def test_the_joined_panel_lasts_until_the_shopper_leaves(client, stocked):
    product, rows = stocked
    delhi = rows["DEL"].warehouse_id
    WaitlistEntryFactory(product=product, warehouse=rows["DEL"].warehouse)
    _join(client, product, delhi, quantity="2")
    _page(client, product, warehouse=delhi)  # the flash message is read here

    later = _page(client, product, warehouse=delhi)

    assert 'data-testid="waitlist-joined"' in later and 'name="email"' not in later
    assert '<strong data-testid="waitlist-place">#2</strong>' in later
    assert '<strong data-testid="waitlist-email">ann@example.com</strong>' in later
    assert 'data-testid="waitlist-joined"' not in _page(Client(), product, warehouse=delhi)
    entry = WaitlistEntry.objects.get(email="ann@example.com")

    left = client.post(_url(product, "waitlist-leave"), {"entry": str(entry.pk)})

    assert left.status_code == 302 and left["Location"] == f"{_url(product)}?warehouse={delhi}"
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.CANCELLED
    page = _page(client, product, warehouse=delhi)
    assert "You left the waitlist for Trail Runner in Delhi." in page
    assert 'name="email"' in page and 'data-testid="waitlist-joined"' not in page


@pytest.mark.parametrize(
    ("entry", "status"),
    [("", 400), ("not-a-uuid", 400), ("00000000-0000-4000-8000-000000000000", 404)],
)
def test_leaving_without_a_known_entry_is_refused(client, stocked, entry, status):
    product, rows = stocked
    WaitlistEntryFactory(product=product, warehouse=rows["DEL"].warehouse)
    response = client.post(_url(product, "waitlist-leave"), {"entry": entry})
    assert response.status_code == status
    assert WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING).count() == 1


def test_joining_twice_says_already_waiting(client, stocked):
    product, rows = stocked
    delhi = rows["DEL"].warehouse_id
    _join(client, product, delhi)
    response = _join(client, product, delhi, email="ANN@example.com")
    assert response.status_code == 302
    assert WaitlistEntry.objects.count() == 1
    page = _page(client, product, warehouse=delhi)
    assert (
        "ann@example.com is already on the waitlist for Trail Runner in Delhi: you're #1." in page
    )


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your email so we can tell you when it is back."),
        ("not-an-email", "Enter a valid email address, e.g. ann@example.com."),
    ],
)
def test_waitlist_bad_email_is_refused_next_to_the_field(client, stocked, email, message):
    product, rows = stocked
    response = _join(client, product, rows["DEL"].warehouse_id, email=email)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert _errors(page, "email") == [message]
    assert 'aria-invalid="true" aria-describedby="email-errors"' in page
    assert WaitlistEntry.objects.count() == 0


@pytest.mark.parametrize("quantity", ["0", "101", "abc"])
def test_waitlist_bad_quantity_is_refused(client, stocked, quantity):
    product, rows = stocked
    response = _join(client, product, rows["DEL"].warehouse_id, quantity=quantity)
    assert response.status_code == 400
    assert _errors(html.unescape(response.content.decode()), "quantity")
    assert WaitlistEntry.objects.count() == 0


def test_waitlist_while_units_are_there_says_reserve_instead(client, stocked):
    product, rows = stocked
    chennai = rows["CHN"].warehouse_id
    response = _join(client, product, chennai)
    assert response.status_code == 302
    assert WaitlistEntry.objects.count() == 0
    page = _page(client, product, warehouse=chennai)
    assert "Enough units are available now: reserve them instead of joining the waitlist." in page


def test_waitlist_in_an_unknown_warehouse_is_refused(client, stocked):
    product, _ = stocked
    response = _join(client, product, "99999")
    assert response.status_code == 400
    assert WaitlistEntry.objects.count() == 0


def test_product_sold_nowhere_says_so(client):
    product = ProductFactory()
    page = _page(client, product)
    assert "No warehouse sells this product right now." in page
    assert 'id="buy-form"' not in page


def test_the_catalogues_deliver_to_pincode_quotes_delivery_on_the_product_page(client, stocked):
    product, rows = stocked
    client.post(reverse("deliver-to"), {"place": BANGALORE_PINCODE})

    page = _page(client, product)

    assert 'data-testid="recommended"' in _option(page, rows["BLR"].warehouse_id)
    assert _checked_warehouse(page) == rows["BLR"].warehouse_id


def test_a_deliver_to_city_quotes_nothing_until_a_pincode_is_given(client, stocked):
    product, _ = stocked
    client.post(reverse("deliver-to"), {"place": "Pune"})

    assert 'data-testid="recommended"' not in _page(client, product)
