"""The console's sales pages: staff set a product's sale policy (its window, limit and hold
terms), open channels (their key shown once) and set their allocations, all through
sales.services; a product's board shows each channel's sold, held and remaining units live."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import ApiKey
from reservations.models import Reservation
from reservations.services import holds, transitions
from sales import services
from sales.models import Allocation, Channel, SalePolicy
from tests.factories import InventoryFactory, ProductFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True))
    return client


def _local(moment) -> str:
    return timezone.localtime(moment).strftime(LOCAL_MINUTE)


def _hold(row, quantity: int = 1, channel: str = "web") -> Reservation:
    return holds.reserve(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=quantity,
        channel=channel,
    )


def _figures(page, code: str) -> dict:
    """A channel's figures on a product's board, from the page's context."""
    board = page.context["board"]
    found = next(c for c in board.channels if c.code == code)
    return {"sold": found.sold, "held": found.held, "remaining": found.remaining}


def test_only_staff_see_the_sales_pages(client):
    row = InventoryFactory()
    pages = [
        "/admin/sales/",
        f"/admin/sales/products/{row.product_id}/",
        "/admin/sales/channels/",
        "/admin/sales/channels/web/",
    ]
    assert {client.get(page).status_code for page in pages} == {302}
    client.force_login(UserFactory())
    assert {client.get(page).status_code for page in pages} == {403}
    assert client.post("/admin/sales/channels/", {"code": "app"}).status_code == 403
    assert not Channel.objects.filter(code="app").exists()


def test_a_policy_set_on_the_sales_page_is_saved_and_listed(staff):
    row = InventoryFactory()
    starts = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=1)

    saved = staff.post(
        "/admin/sales/",
        {
            "product": row.product_id,
            "sale_starts_at": _local(starts),
            "sale_ends_at": _local(starts + timedelta(hours=2)),
            "limit_per_customer": "2",
            "requires_account": "true",
            "hold_seconds": "120",
            "max_extensions": "0",
        },
    )

    assert saved.status_code == 302
    assert saved["Location"] == f"/admin/sales/products/{row.product_id}/"
    policy = SalePolicy.objects.get(product_id=row.product_id, channel=None)
    assert (policy.sale_starts_at, policy.sale_ends_at) == (starts, starts + timedelta(hours=2))
    assert (policy.limit_per_customer, policy.requires_account) == (2, True)
    assert (policy.hold_seconds, policy.hold_seconds_signed_in, policy.max_extensions) == (
        120,
        None,
        0,
    )
    listed = staff.get("/admin/sales/")
    assert [s.product.pk for s in listed.context["sales"]] == [row.product_id]
    assert listed.context["sales"][0].state == "upcoming"


def test_a_window_that_ends_before_it_starts_is_refused_in_the_form(staff):
    row = InventoryFactory()
    starts = timezone.now() + timedelta(hours=1)

    refused = staff.post(
        f"/admin/sales/products/{row.product_id}/",
        {"sale_starts_at": _local(starts), "sale_ends_at": _local(starts - timedelta(hours=1))},
    )

    assert refused.status_code == 400
    assert refused.context["form"].errors["sale_ends_at"] == [
        "Sale ends must be after sale starts."
    ]
    assert not SalePolicy.objects.exists()


def test_clearing_every_field_removes_the_policy(staff):
    row = InventoryFactory()
    services.set_policy(row.product_id, {"limit_per_customer": 3})

    page = staff.get(f"/admin/sales/products/{row.product_id}/")
    assert page.context["form"]["limit_per_customer"].value() == 3
    cleared = staff.post(f"/admin/sales/products/{row.product_id}/", {"requires_account": ""})

    assert cleared.status_code == 302
    assert not SalePolicy.objects.exists()


def test_saving_the_form_keeps_the_windows_seconds_so_the_sales_counts_carry_on(staff):
    row = InventoryFactory()
    starts = timezone.now().replace(second=42, microsecond=123456) - timedelta(minutes=5)
    services.set_policy(row.product_id, {"sale_starts_at": starts, "limit_per_customer": 2})
    page = staff.get(f"/admin/sales/products/{row.product_id}/").content.decode()
    assert f'value="{_local(starts)}"' in page  # to the minute, as browsers send it back

    staff.post(
        f"/admin/sales/products/{row.product_id}/",
        {"sale_starts_at": _local(starts), "limit_per_customer": "3"},
    )

    policy = SalePolicy.objects.get()
    assert (policy.sale_starts_at, policy.limit_per_customer) == (starts, 3)


def test_a_channels_own_policy_is_set_and_edited_apart_from_the_products(staff):
    row = InventoryFactory()
    services.create_channel(code="app", name="App")
    services.set_policy(row.product_id, {"limit_per_customer": 1})

    staff.post(
        f"/admin/sales/products/{row.product_id}/",
        {"channel": "app", "hold_seconds_signed_in": "900", "max_extensions": "3"},
    )

    own = SalePolicy.objects.get(product_id=row.product_id, channel__code="app")
    assert (own.hold_seconds_signed_in, own.max_extensions, own.limit_per_customer) == (
        900,
        3,
        None,
    )
    assert SalePolicy.objects.get(channel=None).limit_per_customer == 1
    edited = staff.get(f"/admin/sales/products/{row.product_id}/?channel=app").context["form"]
    assert (edited["channel"].value(), edited["hold_seconds_signed_in"].value()) == ("app", 900)


def test_extensions_beyond_three_are_refused_in_the_form(staff):
    row = InventoryFactory()

    refused = staff.post(f"/admin/sales/products/{row.product_id}/", {"max_extensions": "4"})

    assert refused.status_code == 400
    assert refused.context["form"].errors["max_extensions"]
    assert not SalePolicy.objects.exists()


def test_a_new_channel_shows_its_key_once_and_holds_made_with_it_are_the_channels(staff):
    row = InventoryFactory(total_stock=5)

    made = staff.post("/admin/sales/channels/", {"code": "app", "name": "Mobile app"})

    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    plain = made.context["new"]["key"].plain
    assert plain in made.content.decode()
    assert plain not in staff.get("/admin/sales/channels/").content.decode()
    key = ApiKey.objects.get()
    assert (key.channel.code, key.channel.name, key.scopes) == ("app", "Mobile app", ["holds"])
    held = APIClient(headers={"Authorization": f"Bearer {plain}"}).post(
        "/api/reservations",
        {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1},
        format="json",
    )
    assert held.status_code == 201
    assert held.json()["channel"] == "app"


def test_a_taken_channel_code_is_refused_in_the_form_and_makes_no_key(staff):
    refused = staff.post("/admin/sales/channels/", {"code": "web", "name": "Again"})

    assert refused.status_code == 409
    assert "exists already" in refused.content.decode()
    assert Channel.objects.get(code="web").name != "Again"
    assert not ApiKey.objects.exists()


def test_an_allocation_is_set_per_warehouse_and_removed_when_all_blank(staff):
    row = InventoryFactory()
    services.create_channel(code="app", name="App")
    values = {"product": row.product_id, "warehouse": row.warehouse_id}

    staff.post(
        "/admin/sales/channels/app/",
        {**values, "quota": "50", "buffer": "2", "buffer_percent": "10", "floor": "1"},
    )

    allocation = Allocation.objects.get(channel__code="app")
    assert (allocation.product_id, allocation.warehouse_id) == (row.product_id, row.warehouse_id)
    assert (allocation.quota, allocation.buffer, allocation.buffer_percent, allocation.floor) == (
        50,
        2,
        10,
        1,
    )
    prefilled = staff.get(
        f"/admin/sales/channels/app/?product={row.product_id}&warehouse={row.warehouse_id}"
    )
    assert prefilled.context["form"]["quota"].value() == 50
    removed = staff.post("/admin/sales/channels/app/", values)
    assert removed.status_code == 302
    assert not Allocation.objects.exists()


def test_a_buffer_over_100_percent_is_refused_in_the_form(staff):
    row = InventoryFactory()

    refused = staff.post(
        "/admin/sales/channels/web/", {"product": row.product_id, "buffer_percent": "101"}
    )

    assert refused.status_code == 400
    assert refused.context["form"].errors["buffer_percent"]
    assert not Allocation.objects.exists()


def test_unknown_products_and_channels_answer_404(staff):
    assert staff.get("/admin/sales/products/999999/").status_code == 404
    assert staff.get("/admin/sales/channels/nowhere/").status_code == 404


def test_the_board_shows_each_channels_sold_held_and_remaining(staff):
    row = InventoryFactory(total_stock=100)
    services.create_channel(code="app", name="App")
    services.set_allocation("app", row.product_id, {"quota": 10})
    services.set_allocation("web", row.product_id, {"buffer": 5})
    sold = _hold(row, 3, channel="app")
    transitions.confirm(reservation_id=sold.pk)
    _hold(row, 2, channel="app")
    _hold(row, 4)

    page = staff.get(f"/admin/sales/products/{row.product_id}/")

    # app: 10 - (3 + 2) left of its quota; web: no quota, 91 available less 5 kept back.
    assert _figures(page, "app") == {"sold": 3, "held": 2, "remaining": 5}
    assert _figures(page, "web") == {"sold": 0, "held": 4, "remaining": 86}


def test_the_board_counts_only_holds_made_since_the_sale_opened(staff):
    row = InventoryFactory(total_stock=100)
    _hold(row, 2)
    Reservation.objects.update(created_at=timezone.now() - timedelta(hours=1))
    services.set_policy(row.product_id, {"sale_starts_at": timezone.now() - timedelta(minutes=1)})
    _hold(row, 1)

    page = staff.get(f"/admin/sales/products/{row.product_id}/")

    assert _figures(page, "web") == {"sold": 0, "held": 1, "remaining": 97}


def test_the_board_reads_in_the_same_queries_however_many_channels(
    staff, django_assert_max_num_queries
):
    product = ProductFactory()
    for warehouse in WarehouseFactory.create_batch(3):
        InventoryFactory(product=product, warehouse=warehouse, total_stock=20)
    for n in range(6):
        services.create_channel(code=f"partner-{n}", name=f"Partner {n}")
        services.set_allocation(f"partner-{n}", product.pk, {"quota": 5, "buffer": 1})

    # Session and user, the product, then the board's seven reads.
    with django_assert_max_num_queries(10):
        staff.get(f"/admin/sales/products/{product.pk}/", headers={"HX-Request": "true"})


def test_an_htmx_poll_gets_only_the_board_every_two_seconds(staff):
    row = InventoryFactory()

    polled = staff.get(f"/admin/sales/products/{row.product_id}/", headers={"HX-Request": "true"})

    body = polled.content.decode()
    assert body.lstrip().startswith('<section id="sale-board"')
    assert 'hx-trigger="every 2s"' in body
    assert "policy-form" not in body


def test_the_board_stops_refreshing_once_the_sale_has_ended(staff):
    row = InventoryFactory()
    services.set_policy(
        row.product_id,
        {
            "sale_starts_at": timezone.now() - timedelta(hours=2),
            "sale_ends_at": timezone.now() - timedelta(hours=1),
        },
    )

    page = staff.get(f"/admin/sales/products/{row.product_id}/")

    assert not page.context["board"].live
    assert "hx-trigger" not in page.content.decode()
