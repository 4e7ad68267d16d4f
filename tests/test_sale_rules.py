"""Holds under a sale's rules: the window, a customer's limit, a channel's allocation and a
product's hold terms, enforced exactly under concurrency on every path a hold takes.

Real PostgreSQL, real threads with connections of their own, and the coalescer's own pool.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from integrations.keys import create_key
from reservations.errors import ExtensionLimit, InsufficientStock
from reservations.invariants import find_violations
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts, holds, transitions, waitlist
from sales import services
from sales.errors import AccountRequired, ChannelQuotaReached, LimitReached, NotOnSale
from sales.models import Tally
from tests.factories import InventoryFactory, UserFactory, WarehouseFactory
from tests.races import run_together, unexpected_errors

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def coalescing():
    with override_settings(HOLD_COALESCING=True):
        yield


def _hold(row, quantity: int = 1, **shopper) -> Reservation:
    return holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity, **shopper
    )


def _held_units(row, **filters) -> int:
    return sum(
        Reservation.objects.filter(
            product_id=row.product_id, status=Reservation.Status.PENDING, **filters
        ).values_list("quantity", flat=True)
    )


def test_a_hold_a_second_before_the_start_is_refused_and_a_second_after_admitted():
    row = InventoryFactory(total_stock=5)
    starts = timezone.now() + timedelta(seconds=1)
    services.set_policy(row.product_id, {"sale_starts_at": starts})
    with pytest.raises(NotOnSale) as refused:
        _hold(row)
    assert refused.value.body()["saleStartsAt"] == starts.isoformat()
    services.set_policy(row.product_id, {"sale_starts_at": timezone.now() - timedelta(seconds=1)})
    assert _hold(row).status == Reservation.Status.PENDING
    services.set_policy(row.product_id, {"sale_ends_at": timezone.now()})
    with pytest.raises(NotOnSale):
        _hold(row)


@pytest.mark.usefixtures("coalescing")
def test_100_holds_at_once_by_one_customer_hold_exactly_the_limit_and_others_are_served():
    row = InventoryFactory(total_stock=500)
    services.set_policy(row.product_id, {"limit_per_customer": 2})
    greedy, others = UserFactory(), [UserFactory() for _ in range(10)]

    def shop(i: int) -> Reservation:
        return _hold(row, user=greedy if i < 100 else others[i - 100])

    outcomes = run_together(110, shop)
    assert unexpected_errors(outcomes, LimitReached) == []
    refused = [o.error for o in outcomes[:100] if o.error is not None]
    assert len(refused) == 98
    assert {(e.extra["limit"], e.extra["alreadyHeld"]) for e in refused} == {(2, 2)}
    assert _held_units(row, user=greedy) == 2
    assert all(o.error is None for o in outcomes[100:])  # nobody else was refused
    assert find_violations() == []


def test_the_limit_holds_across_keyed_holds_carts_and_routed_holds_at_once():
    """One customer on every path at once, on two warehouses: never more than the limit."""
    row = InventoryFactory(total_stock=100)
    other = InventoryFactory(product=row.product, total_stock=100, warehouse=WarehouseFactory())
    services.set_policy(row.product_id, {"limit_per_customer": 3})
    customer = UserFactory()
    paths = [
        lambda: transaction.atomic()(_hold)(row, user=customer),  # as a keyed request does
        lambda: carts.reserve_cart(
            lines=[
                CartLine(product_id=row.product_id, warehouse_id=other.warehouse_id, quantity=1)
            ],
            user=customer,
        ),
        lambda: holds.reserve_nearest(product_id=row.product_id, quantity=1, user=customer),
    ]
    outcomes = run_together(30, lambda i: paths[i % 3]())
    assert unexpected_errors(outcomes, LimitReached) == []
    assert sum(o.error is None for o in outcomes) == 3
    assert _held_units(row, user=customer) == 3
    assert find_violations() == []


def test_a_release_gives_the_customer_back_their_place_under_the_limit():
    row = InventoryFactory(total_stock=5)
    services.set_policy(row.product_id, {"limit_per_customer": 2})
    customer = UserFactory()
    first = _hold(row, quantity=2, user=customer)
    with pytest.raises(LimitReached):
        _hold(row, user=customer)
    transitions.release(reservation_id=first.id, user=customer)
    assert _hold(row, quantity=2, user=customer).quantity == 2
    assert Tally.objects.get().units == 2
    assert find_violations() == []


def test_a_product_for_accounts_refuses_a_guest_with_401():
    row = InventoryFactory(total_stock=5)
    services.set_policy(row.product_id, {"requires_account": True})
    response = APIClient().post(
        "/api/reservations",
        {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1},
        format="json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "ACCOUNT_REQUIRED"
    assert not Reservation.objects.exists()
    with pytest.raises(AccountRequired):
        _hold(row)
    assert _hold(row, user=UserFactory()).user_id is not None


def test_a_channel_keeps_its_buffer_back_and_sells_nothing_at_its_floor():
    row = InventoryFactory(total_stock=10)
    services.set_allocation("web", row.product_id, {"buffer": 3})
    assert _hold(row, quantity=2).quantity == 2  # 10 available, 3 kept back
    with pytest.raises(InsufficientStock) as short:
        _hold(row, quantity=6)
    assert short.value.extra["available"] == 5  # 8 available, 3 kept back
    services.set_allocation("web", row.product_id, {"floor": 8})
    with pytest.raises(InsufficientStock) as short:
        _hold(row)
    assert short.value.extra["available"] == 0


def test_a_channel_key_holds_for_its_channel_up_to_its_quota():
    row = InventoryFactory(total_stock=10)
    app = services.create_channel(code="app", name="App")
    services.set_allocation("app", row.product_id, {"quota": 2})
    key = create_key(name="app", scopes=["holds"], channel=app).plain
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 2}
    made = client.post("/api/reservations", body, format="json")
    assert made.status_code == 201
    assert made.json()["channel"] == "app"
    over = client.post("/api/reservations", {**body, "quantity": 1}, format="json")
    assert over.status_code == 409
    assert over.json()["code"] == ChannelQuotaReached.code
    # The storefront's shoppers are not held to the app's quota.
    assert _hold(row, quantity=3).channel == "web"


def test_a_stock_key_without_a_channel_may_not_hold():
    row = InventoryFactory(total_stock=10)
    key = create_key(name="stock", scopes=["stock:read"]).plain
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/reservations",
        {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1},
        format="json",
    )
    assert response.status_code == 403
    assert not Reservation.objects.exists()


def test_holds_last_their_products_time_and_stop_extending_at_its_maximum():
    row = InventoryFactory(total_stock=10)
    services.set_policy(
        row.product_id,
        {"hold_seconds": 120, "hold_seconds_signed_in": 600, "max_extensions": 2},
    )
    guest = _hold(row)
    assert (guest.expires_at - guest.created_at).total_seconds() == 120
    shopper = UserFactory()
    member = _hold(row, user=shopper)
    assert (member.expires_at - member.created_at).total_seconds() == 600
    for _ in range(2):
        extended = transitions.extend(reservation_id=member.id, user=shopper)
    assert (extended.expires_at - member.expires_at).total_seconds() == 1200
    with pytest.raises(ExtensionLimit):
        transitions.extend(reservation_id=member.id, user=shopper)
    body = APIClient().get(f"/api/reservations/{guest.id}").json()
    assert (body["holdSeconds"], body["maxExtensions"], body["extensions"]) == (120, 2, 0)


@pytest.mark.usefixtures("coalescing")
def test_a_batch_walks_requests_in_arrival_order_as_one_by_one_would():
    """Quotas, limits and stock together in coalesced batches: the outcome is what the
    requests one at a time would give, whatever batches they fell into."""
    row = InventoryFactory(total_stock=30)
    services.set_policy(row.product_id, {"limit_per_customer": 4})
    services.set_allocation("web", row.product_id, {"quota": 25})
    customers = [UserFactory() for _ in range(10)]
    outcomes = run_together(80, lambda i: _hold(row, quantity=1, user=customers[i % 10]))
    assert unexpected_errors(outcomes, LimitReached, ChannelQuotaReached) == []
    per_customer = [_held_units(row, user=c) for c in customers]
    assert sum(per_customer) == 25 and max(per_customer) <= 4
    assert find_violations() == []


def test_a_waiting_shopper_is_promoted_under_the_rules_and_counts_in_their_limit():
    row = InventoryFactory(total_stock=1)
    services.set_policy(row.product_id, {"limit_per_customer": 1})
    first, waiting = UserFactory(), UserFactory()
    held = _hold(row, user=first)
    joined = waitlist.join_waitlist(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=1,
        email=waiting.email,
        user=waiting,
    )
    transitions.release(reservation_id=held.id, user=first)
    entry = joined.entry
    entry.refresh_from_db()
    assert entry.status == entry.Status.PROMOTED
    assert entry.reservation.user_id == waiting.pk
    with pytest.raises(LimitReached):
        _hold(row, user=waiting)
    assert find_violations() == []
