"""The console's transfers pages: staff draft a transfer between two warehouses in a form,
ship it, receive it with damaged units, or cancel it, all through transfers.services; a
refusal is shown on the page and changes nothing; a transfer's page lists its history."""

import pytest
from django.test import Client

from inventory.models import Inventory
from reservations.services import holds
from tests.factories import InventoryFactory, ProductFactory, UserFactory
from transfers import services
from transfers.models import Transfer, TransferLine, TransferStep

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_user():
    return UserFactory(is_staff=True, password=None)


@pytest.fixture
def staff(client: Client, staff_user) -> Client:
    client.force_login(staff_user)
    return client


@pytest.fixture
def source() -> Inventory:
    return InventoryFactory(total_stock=10)


@pytest.fixture
def destination(source) -> Inventory:
    """The same product's row in another warehouse, empty."""
    return InventoryFactory(product=source.product, total_stock=0)


def _draft(source: Inventory, destination: Inventory, quantity: int = 5) -> Transfer:
    return services.create(
        source_id=source.warehouse_id,
        destination_id=destination.warehouse_id,
        lines=[services.Line(source.product_id, quantity)],
        reference="PO-1",
        actor="test",
    )


def _shipped(source: Inventory, destination: Inventory, quantity: int = 5) -> Transfer:
    transfer = _draft(source, destination, quantity)
    return services.ship(transfer.pk, actor="test")


def _states(row: Inventory) -> tuple[int, int, int]:
    row.refresh_from_db()
    return row.total_stock, row.unsellable_stock, row.incoming_stock


def _lines_form(*rows: tuple[object, object], total: int = 5) -> dict:
    """The new-transfer form's line rows: `rows` filled in, the rest of `total` left blank."""
    data = {"lines-TOTAL_FORMS": total, "lines-INITIAL_FORMS": 0}
    for index in range(total):
        product, quantity = rows[index] if index < len(rows) else ("", "")
        data |= {f"lines-{index}-product": product, f"lines-{index}-quantity": quantity}
    return data


def test_only_staff_reach_the_transfers_pages(client, source, destination):
    transfer = _draft(source, destination)
    pages = ["/admin/transfers/", f"/admin/transfers/{transfer.pk}/"]
    ship = f"/admin/transfers/{transfer.pk}/ship/"

    assert {client.get(page).status_code for page in pages} == {302}
    assert client.post(ship).status_code == 302
    client.force_login(UserFactory())
    assert {client.get(page).status_code for page in pages} == {403}
    assert client.post(ship).status_code == 403

    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.DRAFT
    assert _states(source) == (10, 0, 0)


def test_a_transfer_drafted_in_the_form_keeps_its_filled_lines_and_moves_no_stock(
    staff, staff_user, source, destination
):
    other = InventoryFactory(warehouse=source.warehouse, total_stock=4)

    drafted = staff.post(
        "/admin/transfers/",
        {
            "source": source.warehouse_id,
            "destination": destination.warehouse_id,
            "reference": "PO-77",
            **_lines_form((source.product_id, 3), ("", ""), (other.product_id, 2)),
        },
    )

    transfer = Transfer.objects.get()
    assert drafted.status_code == 302
    assert drafted["Location"] == f"/admin/transfers/{transfer.pk}/"
    assert (transfer.state, transfer.reference) == (Transfer.State.DRAFT, "PO-77")
    assert transfer.created_by == f"user:{staff_user.pk}"
    assert sorted(transfer.lines.values_list("product_id", "quantity")) == sorted(
        [(source.product_id, 3), (other.product_id, 2)]
    )
    assert _states(source) == (10, 0, 0)


def test_a_new_transfer_without_lines_comes_back_with_the_forms_errors(staff, source, destination):
    refused = staff.post(
        "/admin/transfers/",
        {"source": source.warehouse_id, "destination": destination.warehouse_id, **_lines_form()},
    )

    assert refused.status_code == 400
    assert "Add at least one line" in refused.content.decode()
    assert not Transfer.objects.exists()


def test_a_product_the_source_does_not_stock_is_refused_on_its_line(staff, source, destination):
    unstocked = ProductFactory()

    refused = staff.post(
        "/admin/transfers/",
        {
            "source": source.warehouse_id,
            "destination": destination.warehouse_id,
            **_lines_form((source.product_id, 1), (unstocked.pk, 1)),
        },
    )

    assert refused.status_code == 400
    lines = refused.context["lines"]
    assert lines.forms[1].errors["product"] == [
        f"Product {unstocked.pk} is not stocked in warehouse {source.warehouse_id}."
    ]
    assert not Transfer.objects.exists()


def test_shipping_takes_the_units_off_the_source_and_into_the_destinations_incoming(
    staff, source, destination
):
    transfer = _draft(source, destination, quantity=4)

    shipped = staff.post(f"/admin/transfers/{transfer.pk}/ship/")

    assert shipped.status_code == 302
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.IN_TRANSIT
    assert _states(source) == (6, 0, 0)
    assert _states(destination) == (0, 0, 4)


def test_shipping_more_than_is_available_says_which_line_and_ships_nothing(
    staff, source, destination
):
    transfer = _draft(source, destination, quantity=8)
    holds.reserve(product_id=source.product_id, warehouse_id=source.warehouse_id, quantity=3)

    refused = staff.post(f"/admin/transfers/{transfer.pk}/ship/")

    assert refused.status_code == 409
    page = refused.content.decode()
    assert f"{source.product.name}: 7 available at the source, 8 to ship" in page
    assert 'data-testid="problem"' in page
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.DRAFT
    assert _states(destination) == (0, 0, 0)


def test_receiving_books_good_units_on_hand_and_damaged_ones_unsellable(staff, source, destination):
    transfer = _shipped(source, destination, quantity=5)
    product = source.product_id

    received = staff.post(
        f"/admin/transfers/{transfer.pk}/receive/", {f"good-{product}": 3, f"damaged-{product}": 1}
    )

    assert received.status_code == 302
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.PARTIALLY_RECEIVED
    line = TransferLine.objects.get()
    assert (line.received, line.damaged, line.outstanding) == (3, 1, 1)
    # Unsellable units are part of on hand (available = on hand - held - safety - unsellable).
    assert _states(destination) == (4, 1, 1)
    assert _states(source) == (5, 0, 0)


def test_an_over_receipt_is_refused_on_its_line_and_changes_nothing(staff, source, destination):
    transfer = _shipped(source, destination, quantity=5)
    product = source.product_id

    refused = staff.post(
        f"/admin/transfers/{transfer.pk}/receive/", {f"good-{product}": 5, f"damaged-{product}": 1}
    )

    assert refused.status_code == 409
    assert refused.context["receive_form"].errors[f"good-{product}"] == [
        "5 unit(s) are still to arrive, 6 were booked; nothing was changed."
    ]
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.IN_TRANSIT
    assert TransferLine.objects.get().outstanding == 5
    assert _states(destination) == (0, 0, 5)
    assert TransferStep.objects.filter(action=TransferStep.Action.RECEIVED).count() == 0


def test_cancelling_an_in_transit_transfer_returns_its_units_to_the_source(
    staff, source, destination
):
    transfer = _shipped(source, destination, quantity=5)

    cancelled = staff.post(f"/admin/transfers/{transfer.pk}/cancel/")

    assert cancelled.status_code == 302
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.CANCELLED
    assert _states(source) == (10, 0, 0)
    assert _states(destination) == (0, 0, 0)
    page = staff.get(f"/admin/transfers/{transfer.pk}/").content.decode()
    assert 'data-testid="ship"' not in page
    assert 'data-testid="cancel"' not in page
    assert 'data-testid="receive-form"' not in page


def test_a_transfers_page_lists_its_steps_with_who_took_them(
    staff, staff_user, source, destination
):
    transfer = _draft(source, destination, quantity=5)
    staff.post(f"/admin/transfers/{transfer.pk}/ship/")
    product = source.product_id
    staff.post(
        f"/admin/transfers/{transfer.pk}/receive/", {f"good-{product}": 4, f"damaged-{product}": 1}
    )

    page = staff.get(f"/admin/transfers/{transfer.pk}/")

    history = page.context["detail"].history
    assert [(s.action, s.state, s.actor) for s in history] == [
        ("CREATED", "DRAFT", "test"),
        ("SHIPPED", "IN_TRANSIT", staff_user.email),
        ("RECEIVED", "RECEIVED", staff_user.email),
    ]
    assert [line.did for line in history[2].lines] == ["4 good, 1 damaged"]
    assert f"{source.product.name}: 4 good, 1 damaged" in page.content.decode()


def test_the_list_shows_the_newest_first_and_filters_by_state(staff, source, destination):
    older = _shipped(source, destination, quantity=2)
    newer = _draft(source, destination, quantity=1)

    everything = staff.get("/admin/transfers/")
    drafts = staff.get("/admin/transfers/?state=DRAFT")

    assert [t.pk for t in everything.context["page"].object_list] == [newer.pk, older.pk]
    assert [t.pk for t in drafts.context["page"].object_list] == [newer.pk]
    shown = everything.context["page"].object_list[1]
    assert (shown.units, shown.received_units, shown.damaged_units) == (2, 0, 0)


def test_htmx_gets_only_the_list_when_a_state_is_picked(staff, source, destination):
    _draft(source, destination)

    fragment = staff.get("/admin/transfers/?state=DRAFT", headers={"HX-Request": "true"})

    body = fragment.content.decode()
    assert body.lstrip().startswith('<section id="transfer-list"')
    assert "new-transfer-form" not in body
    assert fragment["Vary"].count("HX-Request") == 1
