"""The cart page (lines, quantities, "Hold all") and a held cart's checkout page."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from inventory.models import Inventory
from reservations import guests
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts
from storefront import cart, places
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory
from tests.places import NEAR_MUMBAI, five_warehouses, held_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def mumbai():
    return WarehouseFactory(code="BOM", city="Mumbai", name="Mumbai Warehouse")


@pytest.fixture
def delhi():
    return WarehouseFactory(code="DEL", city="Delhi", name="Delhi Warehouse", lat=28.6, lng=77.2)


@pytest.fixture
def three_rows(mumbai, delhi):
    """Three products: a yoga mat with 2 left in Mumbai, dumbbells and a bottle in Delhi."""
    return [
        InventoryFactory(
            product=ProductFactory(name="Yoga Mat", price="1499.00"),
            warehouse=mumbai,
            total_stock=2,
        ),
        InventoryFactory(
            product=ProductFactory(name="Dumbbells", price="2250.50"),
            warehouse=delhi,
            total_stock=10,
        ),
        InventoryFactory(
            product=ProductFactory(name="Water Bottle", price="399.00"),
            warehouse=delhi,
            total_stock=10,
        ),
    ]


def fill_cart(client, *lines: tuple[int, int | None, int]) -> None:
    """Put lines (product id, warehouse id or None, quantity) in the client's session cart."""
    session = client.session
    session[cart.SESSION_KEY] = [
        {"product": product, "warehouse": warehouse, "quantity": quantity}
        for product, warehouse, quantity in lines
    ]
    session.save()


def fill_from_rows(client, rows: list[Inventory], quantities: list[int]) -> None:
    fill_cart(
        client,
        *[(row.product_id, row.warehouse_id, q) for row, q in zip(rows, quantities, strict=True)],
    )


def cart_in_session(client) -> list[tuple[int, int | None, int]]:
    return [
        (line["product"], line["warehouse"], line["quantity"])
        for line in client.session.get(cart.SESSION_KEY, [])
    ]


def line_html(html: str, index: int) -> str:
    """The markup of the cart line at `index`."""
    match = re.search(rf'<li class="cart-line[^"]*"\s+id="line-{index}".*?</li>', html, re.S)
    assert match, f"no line {index} on the page"
    return match.group(0)


def reserved(*rows: Inventory) -> list[int]:
    for row in rows:
        row.refresh_from_db()
    return [row.reserved_stock for row in rows]


# The cart page


def test_empty_cart_says_so_and_offers_the_catalogue(client):
    response = client.get("/cart/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your cart is empty" in html
    assert 'href="/products/"' in html
    assert "Hold all" not in html


def test_cart_lists_each_line_with_name_image_price_warehouse_and_quantity(client, three_rows):
    mat, dumbbells, bottle = three_rows
    fill_cart(client, (mat.product_id, mat.warehouse_id, 2), (dumbbells.product_id, None, 3))

    response = client.get("/cart/")
    html = response.content.decode()

    assert response.status_code == 200
    first, second = line_html(html, 0), line_html(html, 1)
    assert "Yoga Mat" in first and "₹1,499" in first and "Mumbai" in first
    assert 'src="/static/img/categories/fitness.svg"' in first
    assert 'name="quantity"' in first and 'value="2"' in first
    assert "₹2,998" in first  # the subtotal
    assert "Dumbbells" in second and "Nearest warehouse" in second and 'value="3"' in second
    assert "₹6,751.5" in second
    assert "₹9,749.5" in html  # the total
    assert "5 units, 2 lines" in html
    assert 'max="100"' in first and 'min="1"' in first
    assert "Allow split across warehouses" in html


def test_each_line_says_what_is_left_before_holding(client, three_rows):
    mat, dumbbells, _ = three_rows
    fill_cart(client, (mat.product_id, mat.warehouse_id, 3), (dumbbells.product_id, None, 1))
    html = client.get("/cart/").content.decode()
    assert "Only 2 available" in line_html(html, 0)
    assert "10 available" in line_html(html, 1)


def test_cart_page_answers_htmx_with_only_the_cart(client, three_rows):
    fill_from_rows(client, three_rows[:1], [1])
    response = client.get("/cart/", headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="cart"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_every_htmx_form_has_a_plain_fallback(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    html = client.get("/cart/").content.decode()
    forms = re.findall(r"<form\b[^>]*>", html)
    htmx_forms = [tag for tag in forms if "hx-post=" in tag]
    assert len(htmx_forms) == 7  # quantity and remove per line, and "Hold all"
    for tag in htmx_forms:
        action = re.search(r'action="([^"]+)"', tag).group(1)
        assert re.search(r'hx-post="([^"]+)"', tag).group(1) == action
        assert 'method="post"' in tag


def test_cart_page_takes_no_post(client):
    assert client.post("/cart/").status_code == 405


def test_cart_page_reads_in_a_fixed_number_of_queries(
    client, three_rows, django_assert_max_num_queries
):
    fill_from_rows(client, three_rows, [1, 1, 1])
    with django_assert_max_num_queries(6):  # session, products, stock rows, warehouses, ...
        client.get("/cart/")


# Changing a quantity


def test_setting_a_quantity_changes_the_line_and_redirects(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    bottle = three_rows[2]

    response = client.post("/cart/lines/2/quantity/", {"product": bottle.product_id, "quantity": 7})

    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert cart_in_session(client)[2] == (bottle.product_id, bottle.warehouse_id, 7)
    html = client.get("/cart/").content.decode()
    assert "Water Bottle: quantity set to 7." in html
    assert 'value="7"' in line_html(html, 2)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Choose at least 1."),
        ("-3", "Choose at least 1."),
        ("101", "You can hold at most 100 of one product."),
        ("abc", "Enter a whole number, like 2."),
        ("2.5", "Enter a whole number, like 2."),
        ("", "Enter how many you want."),
    ],
)
def test_a_bad_quantity_is_refused_next_to_the_field_and_changes_nothing(
    client, three_rows, typed, message
):
    fill_from_rows(client, three_rows, [1, 1, 1])
    before = cart_in_session(client)

    response = client.post(
        "/cart/lines/1/quantity/", {"product": three_rows[1].product_id, "quantity": typed}
    )

    assert response.status_code == 400
    line = line_html(response.content.decode(), 1)
    assert message in line
    assert 'aria-invalid="true"' in line and 'aria-describedby="quantity-1-error"' in line
    assert 'id="quantity-1-error"' in line
    assert cart_in_session(client) == before
    assert Reservation.objects.count() == 0


def test_a_bad_quantity_over_htmx_swaps_the_cart_with_the_error(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    response = client.post(
        "/cart/lines/0/quantity/",
        {"product": three_rows[0].product_id, "quantity": "101"},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert html.lstrip().startswith('<section id="cart"')
    assert "at most 100" in line_html(html, 0)
    assert cart_in_session(client)[0][2] == 1


def test_a_quantity_over_htmx_answers_the_cart_and_the_new_header_count(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    response = client.post(
        "/cart/lines/0/quantity/",
        {"product": three_rows[0].product_id, "quantity": "2"},
        headers=HTMX,
        follow=True,
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="cart"')
    assert "Yoga Mat: quantity set to 2." in html
    assert re.search(
        r'<span class="badge" data-testid="cart-units" hx-swap-oob="[^"]+">4</span>', html
    )


@pytest.mark.parametrize("index", [3, 99])
def test_a_line_index_out_of_range_changes_nothing(client, three_rows, index):
    fill_from_rows(client, three_rows, [1, 1, 1])
    before = cart_in_session(client)

    response = client.post(
        f"/cart/lines/{index}/quantity/", {"product": three_rows[0].product_id, "quantity": 5}
    )

    assert response.status_code == 302
    assert cart_in_session(client) == before
    assert "no longer in your cart" in client.get("/cart/").content.decode()


def test_a_negative_or_non_numeric_index_is_not_found(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    assert client.post("/cart/lines/-1/quantity/", {"quantity": 2}).status_code == 404
    assert client.post("/cart/lines/abc/remove/").status_code == 404


def test_a_line_changed_in_another_tab_is_not_touched(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    before = cart_in_session(client)
    # The page showed the bottle at index 1, but the cart has the dumbbells there now.
    response = client.post(
        "/cart/lines/1/quantity/", {"product": three_rows[2].product_id, "quantity": 9}
    )
    assert response.status_code == 302
    assert cart_in_session(client) == before
    response = client.post("/cart/lines/1/remove/", {})  # no product at all
    assert response.status_code == 302
    assert cart_in_session(client) == before


def test_quantity_and_remove_take_only_post(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    assert client.get("/cart/lines/0/quantity/").status_code == 405
    assert client.get("/cart/lines/0/remove/").status_code == 405
    assert client.get("/cart/hold/").status_code == 405


# Removing a line


def test_removing_a_line_takes_it_out(client, three_rows):
    fill_from_rows(client, three_rows, [1, 2, 3])

    response = client.post("/cart/lines/1/remove/", {"product": three_rows[1].product_id})

    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert [line[0] for line in cart_in_session(client)] == [
        three_rows[0].product_id,
        three_rows[2].product_id,
    ]
    html = client.get("/cart/").content.decode()
    assert "Removed Dumbbells from your cart." in html
    assert "Dumbbells</a>" not in html


def test_removing_the_last_line_over_htmx_shows_the_empty_cart_and_drops_the_badge(
    client, three_rows
):
    fill_from_rows(client, three_rows[:1], [1])
    response = client.post(
        "/cart/lines/0/remove/",
        {"product": three_rows[0].product_id},
        headers=HTMX,
        follow=True,
    )
    html = response.content.decode()
    assert "Your cart is empty" in html
    assert 'hx-swap-oob="delete:.site-header .cart-link .badge"' in html
    assert cart_in_session(client) == []


# Hold all


def test_hold_all_holds_every_line_empties_the_cart_and_opens_its_checkout(client, three_rows):
    fill_from_rows(client, three_rows, [2, 3, 1])

    response = client.post("/cart/hold/")

    holds = list(Reservation.objects.all())
    assert len(holds) == 3
    cart_id = holds[0].cart_id
    assert cart_id is not None and {hold.cart_id for hold in holds} == {cart_id}
    assert response.status_code == 302 and response["Location"] == f"/checkout/cart/{cart_id}/"
    assert reserved(*three_rows) == [2, 3, 1]
    assert cart_in_session(client) == []
    assert {hold.status for hold in holds} == {Reservation.Status.PENDING}
    # A guest: the holds carry the browser's new guest id, set on the redirect.
    assert guests.COOKIE in response.cookies
    assert {hold.guest_id for hold in holds} == {guests.browser_guest_id(_with_cookies(response))}
    assert {hold.user_id for hold in holds} == {None}


def _with_cookies(response):
    """A request carrying the cookies `response` set (to read the signed guest id back)."""
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.COOKIES = {name: morsel.value for name, morsel in response.cookies.items()}
    return request


def test_a_signed_in_shopper_holds_for_the_account(client, three_rows):
    user = UserFactory()
    client.force_login(user)
    fill_from_rows(client, three_rows, [1, 1, 1])

    response = client.post("/cart/hold/")

    assert response.status_code == 302
    assert set(Reservation.objects.values_list("user_id", "guest_id")) == {(user.pk, None)}
    assert guests.COOKIE not in response.cookies


def test_holding_an_empty_cart_holds_nothing_and_says_so(client):
    response = client.post("/cart/hold/", follow=True)
    assert response.redirect_chain == [("/cart/", 302)]
    assert "Your cart is empty: add something before holding it." in response.content.decode()
    assert Reservation.objects.count() == 0


def test_a_short_line_holds_nothing_and_is_named_next_to_the_line(client, three_rows):
    fill_from_rows(client, three_rows, [3, 1, 1])  # only 2 yoga mats in Mumbai
    before = cart_in_session(client)

    response = client.post("/cart/hold/")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Only 2 left of Yoga Mat in Mumbai" in line_html(html, 0)
    assert 'class="cart-line card is-short"' in line_html(html, 0)
    assert "Only 2 left" not in line_html(html, 1) + line_html(html, 2)
    assert "Nothing was held." in html
    assert Reservation.objects.count() == 0
    assert reserved(*three_rows) == [0, 0, 0]
    assert cart_in_session(client) == before
    assert guests.COOKIE not in response.cookies


def test_after_fixing_the_short_line_hold_all_holds_everything(client, three_rows):
    fill_from_rows(client, three_rows, [3, 1, 1])
    assert client.post("/cart/hold/").status_code == 409
    client.post("/cart/lines/0/quantity/", {"product": three_rows[0].product_id, "quantity": 2})

    response = client.post("/cart/hold/")

    assert response.status_code == 302
    assert reserved(*three_rows) == [2, 1, 1]


def test_a_sold_out_line_says_so(client, three_rows):
    mat = three_rows[0]
    Inventory.objects.filter(pk=mat.pk).update(reserved_stock=2)
    fill_from_rows(client, three_rows, [1, 1, 1])
    html = client.post("/cart/hold/").content.decode()
    assert "Yoga Mat is sold out in Mumbai" in line_html(html, 0)
    assert Reservation.objects.count() == 0


def test_a_line_no_warehouse_covers_asks_for_a_split_and_a_split_holds_it(client):
    product, rows = five_warehouses(units=4)
    fill_cart(client, (product.pk, None, 10))

    refused = client.post("/cart/hold/")

    assert refused.status_code == 409
    assert "No single warehouse has 10 of" in line_html(refused.content.decode(), 0)
    assert "(20 across all warehouses)" in refused.content.decode()
    assert Reservation.objects.count() == 0
    box = re.search(r'<input type="checkbox" name="allow_split"[^>]*>', refused.content.decode())
    assert box and "checked" not in box.group(0)  # left as it was

    response = client.post("/cart/hold/", {"allow_split": "on"})

    assert response.status_code == 302
    assert Reservation.objects.count() == 3  # 4 + 4 + 2
    assert sum(held_in(rows).values()) == 10


def test_a_line_tied_to_a_warehouse_is_split_when_the_box_is_ticked(client):
    """Add to cart ties a line to the warehouse the shopper picked: 15 units where 10 are."""
    product, rows = five_warehouses(units=10)
    fill_cart(client, (product.pk, rows["BLR"].warehouse_id, 15))

    refused = client.post("/cart/hold/")

    assert refused.status_code == 409
    assert "Only 10 left of" in line_html(refused.content.decode(), 0)
    assert "in Bangalore" in refused.content.decode()
    assert Reservation.objects.count() == 0

    response = client.post("/cart/hold/", {"allow_split": "on"})

    assert response.status_code == 302
    held = {code: units for code, units in held_in(rows).items() if units}
    assert held == {"BLR": 10, "CHN": 5}  # Bangalore's 10, then the nearest to it, Chennai


def test_a_refused_split_keeps_the_box_ticked(client):
    product, _ = five_warehouses(units=1)
    fill_cart(client, (product.pk, None, 9))
    html = client.post("/cart/hold/", {"allow_split": "on"}).content.decode()
    assert re.search(r'<input type="checkbox" name="allow_split"[^>]*\bchecked\b', html)
    assert "Only 5 left of" in line_html(html, 0) and "across all warehouses" in html
    assert Reservation.objects.count() == 0


def test_a_line_not_sold_in_its_warehouse_holds_nothing_and_is_named(client, three_rows, delhi):
    mat, dumbbells, bottle = three_rows
    # The yoga mat is stocked in Mumbai only; the cart asks for it in Delhi.
    fill_cart(
        client,
        (dumbbells.product_id, delhi.pk, 1),
        (mat.product_id, delhi.pk, 1),
        (bottle.product_id, None, 1),
    )

    response = client.post("/cart/hold/")

    assert response.status_code == 409
    html = response.content.decode()
    assert "Yoga Mat is not sold in Delhi any more" in line_html(html, 1)
    assert Reservation.objects.count() == 0
    assert reserved(*three_rows) == [0, 0, 0]


def test_a_product_no_longer_sold_holds_nothing_and_is_named(client, three_rows):
    mat = three_rows[0]
    mat.product.active = False
    mat.product.save()
    fill_from_rows(client, three_rows, [1, 1, 1])

    html = client.post("/cart/hold/").content.decode()

    assert "This product is no longer sold" in line_html(html, 0)
    assert Reservation.objects.count() == 0


def test_hold_all_over_htmx_redirects_the_browser_on_success(client, three_rows):
    fill_from_rows(client, three_rows, [1, 1, 1])
    response = client.post("/cart/hold/", headers=HTMX)
    cart_id = Reservation.objects.values_list("cart_id", flat=True).first()
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/checkout/cart/{cart_id}/"
    assert guests.COOKIE in response.cookies


def test_hold_all_over_htmx_swaps_in_the_short_line(client, three_rows):
    fill_from_rows(client, three_rows, [5, 1, 1])
    response = client.post("/cart/hold/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="cart"')
    assert "Only 2 left of Yoga Mat in Mumbai" in line_html(html, 0)
    assert Reservation.objects.count() == 0


# The held cart's checkout page


@pytest.fixture
def held_cart(three_rows):
    """A guest's cart holding 2 yoga mats, 3 dumbbells and a bottle."""
    mat, dumbbells, bottle = three_rows
    return carts.reserve_cart(
        lines=[
            CartLine(mat.product_id, mat.warehouse_id, 2),
            CartLine(dumbbells.product_id, dumbbells.warehouse_id, 3),
            CartLine(bottle.product_id, None, 1),
        ],
        guest_id=uuid.uuid4(),
    )


def checkout_url(held) -> str:
    return f"/checkout/cart/{held.cart_id}/"


def test_checkout_shows_every_hold_what_where_and_the_total(client, held_cart):
    response = client.get(checkout_url(held_cart))
    html = response.content.decode()

    assert response.status_code == 200
    assert html.count('data-testid="held-line"') == 3
    assert "Yoga Mat" in html and "Mumbai Warehouse" in html
    assert "Dumbbells" in html and "Delhi Warehouse" in html
    assert "2 × ₹1,499" in html and "₹2,998" in html
    assert "3 × ₹2,250.5" in html and "₹6,751.5" in html
    assert "1 × ₹399" in html
    assert "₹10,148.5" in html  # the total
    assert "6 units in 3 holds, from 2 warehouses" in html
    assert "Confirm purchase" in html and 'value="release"' in html


def test_checkout_shows_the_time_left_to_the_earliest_expiry(client, held_cart):
    earliest = min(hold.reservation.expires_at for hold in held_cart.holds)
    html = client.get(checkout_url(held_cart)).content.decode()
    assert f'<time datetime="{timezone.localtime(earliest).isoformat()}"' in html
    assert timezone.localtime(earliest).strftime("%H:%M:%S IST") in html  # the shop's zone
    minutes = re.search(r'data-testid="time-left">(\d\d):(\d\d)<', html)
    assert minutes and 9 <= int(minutes.group(1)) <= 10
    assert "data-countdown-seconds=" in html and 'data-countdown-total="600"' in html
    assert "js/countdown.js" in html
    assert 'hx-trigger="countdown:end"' in html


def test_checkout_answers_htmx_with_only_the_cart(client, held_cart):
    response = client.get(checkout_url(held_cart), headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="cart-checkout"')
    assert "<html" not in html


def test_an_unknown_cart_is_not_found(client):
    assert client.get(f"/checkout/cart/{uuid.uuid4()}/").status_code == 404
    assert client.post(f"/checkout/cart/{uuid.uuid4()}/", {"action": "confirm"}).status_code == 404
    assert client.get("/checkout/cart/not-a-uuid/").status_code == 404


def test_a_signed_in_shoppers_cart_is_theirs_alone(client, three_rows):
    owner, other = UserFactory(), UserFactory()
    mat = three_rows[0]
    held = carts.reserve_cart(lines=[CartLine(mat.product_id, mat.warehouse_id, 1)], user=owner)

    assert client.get(checkout_url(held)).status_code == 404  # anonymous
    assert client.post(checkout_url(held), {"action": "release"}).status_code == 404
    client.force_login(other)
    assert client.get(checkout_url(held)).status_code == 404
    assert client.post(checkout_url(held), {"action": "confirm"}).status_code == 404
    client.force_login(owner)
    assert client.get(checkout_url(held)).status_code == 200
    assert Reservation.objects.get().status == Reservation.Status.PENDING


def test_confirm_purchase_confirms_every_hold(client, held_cart, three_rows):
    response = client.post(checkout_url(held_cart), {"action": "confirm"}, follow=True)

    assert response.redirect_chain == [(checkout_url(held_cart), 302)]
    html = response.content.decode()
    assert "Your order is confirmed." in html and "Purchase confirmed" in html
    assert "Confirm purchase" not in html
    assert set(Reservation.objects.values_list("status", flat=True)) == {"CONFIRMED"}
    for row in three_rows:
        row.refresh_from_db()
    assert [(row.total_stock, row.reserved_stock) for row in three_rows] == [(0, 0), (7, 0), (9, 0)]


def test_cancel_releases_every_hold(client, held_cart, three_rows):
    response = client.post(checkout_url(held_cart), {"action": "release"}, follow=True)

    html = response.content.decode()
    assert "Your holds are cancelled" in html and "Cancelled" in html
    assert set(Reservation.objects.values_list("status", "release_reason")) == {
        ("RELEASED", "CANCELLED")
    }
    assert reserved(*three_rows) == [0, 0, 0]


def test_cancel_after_confirm_changes_nothing_and_says_why(client, held_cart):
    client.post(checkout_url(held_cart), {"action": "confirm"})
    response = client.post(checkout_url(held_cart), {"action": "release"}, follow=True)
    assert "already settled" in response.content.decode()
    assert set(Reservation.objects.values_list("status", flat=True)) == {"CONFIRMED"}


@pytest.mark.parametrize("action", ["", "extend", "explode"])
def test_an_unknown_action_is_refused_and_changes_nothing(client, held_cart, action):
    response = client.post(checkout_url(held_cart), {"action": action})
    assert response.status_code == 400
    html = response.content.decode()
    assert "That is not something a held cart can do." in html or "required" in html
    assert set(Reservation.objects.values_list("status", flat=True)) == {"PENDING"}


def test_checkout_takes_only_get_and_post(client, held_cart):
    assert client.put(checkout_url(held_cart)).status_code == 405


def test_an_expired_cart_flips_to_expired_and_offers_to_hold_again(client, held_cart, three_rows):
    later = timezone.now() + timedelta(seconds=601)
    with time_machine.travel(later, tick=False):
        response = client.get(checkout_url(held_cart))
    html = response.content.decode()
    assert "Your hold expired" in html and 'value="again"' in html
    assert "Confirm purchase" not in html
    assert set(Reservation.objects.values_list("status", "release_reason")) == {
        ("RELEASED", "EXPIRED")
    }
    assert reserved(*three_rows) == [0, 0, 0]


def test_confirming_an_expired_cart_confirms_nothing_and_says_so(client, held_cart):
    later = timezone.now() + timedelta(seconds=601)
    with time_machine.travel(later, tick=False):
        response = client.post(checkout_url(held_cart), {"action": "confirm"}, follow=True)
    html = response.content.decode()
    assert "Your hold expired and the units went back on sale." in html
    assert not Reservation.objects.filter(status="CONFIRMED").exists()


def test_hold_again_holds_the_expired_lines_as_a_new_cart(client, held_cart, three_rows):
    later = timezone.now() + timedelta(seconds=601)
    with time_machine.travel(later, tick=False):
        client.get(checkout_url(held_cart))
        response = client.post(checkout_url(held_cart), {"action": "again"})

    new = Reservation.objects.filter(status="PENDING")
    assert new.count() == 3
    new_cart = new.first().cart_id
    assert new_cart != held_cart.cart_id
    assert response.status_code == 302 and response["Location"] == f"/checkout/cart/{new_cart}/"
    assert reserved(*three_rows) == [2, 3, 1]
    assert guests.COOKIE in response.cookies


def test_hold_again_when_stock_is_gone_puts_the_lines_back_in_the_cart(
    client, held_cart, three_rows
):
    mat = three_rows[0]
    later = timezone.now() + timedelta(seconds=601)
    with time_machine.travel(later, tick=False):
        client.get(checkout_url(held_cart))  # expires the holds
        Inventory.objects.filter(pk=mat.pk).update(total_stock=1)
        response = client.post(checkout_url(held_cart), {"action": "again"}, follow=True)

    assert response.redirect_chain == [("/cart/", 302)]
    html = response.content.decode()
    assert "Only 1 left of Yoga Mat in Mumbai" in html
    assert "Your items are back in your cart." in html
    assert not Reservation.objects.filter(status="PENDING").exists()
    assert sorted(q for _, _, q in cart_in_session(client)) == [1, 2, 3]


def test_hold_again_on_a_bought_cart_changes_nothing(client, held_cart):
    client.post(checkout_url(held_cart), {"action": "confirm"})
    response = client.post(checkout_url(held_cart), {"action": "again"}, follow=True)
    assert "already bought" in response.content.decode()
    assert Reservation.objects.count() == 3


def test_a_nearest_line_is_held_near_the_deliver_to_place(client):
    product, rows = five_warehouses(units=5)
    fill_cart(client, (product.pk, None, 2))
    session = client.session
    session[places.SESSION_KEY] = {"label": "Thane", **NEAR_MUMBAI}
    session.save()

    html = client.get("/cart/").content.decode()
    assert "Nearest warehouse" in html and "to Thane" in line_html(html, 0)
    assert client.post("/cart/hold/").status_code == 302
    assert held_in(rows) == {"CHN": 0, "BLR": 0, "BOM": 2, "DEL": 0, "HYD": 0}
