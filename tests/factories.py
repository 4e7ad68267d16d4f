import hashlib
from datetime import timedelta

import factory
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory
from rest_framework.test import APIClient

from idempotency.models import IdempotencyKey
from integrations.keys import create_key
from inventory import locks as stock_locks
from inventory.locks import COLUMNS
from inventory.models import STATES, Inventory, LedgerEntry, Product
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from warehouses.models import Warehouse

RECEIVED = LedgerEntry.Reason.RECEIVED


class WarehouseFactory(DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"W{n:03d}")
    name = factory.LazyAttribute(lambda w: f"{w.city} Warehouse")
    location = factory.LazyAttribute(lambda w: f"{w.city}, India")
    city = factory.Sequence(lambda n: f"City {n}")
    lat = 19.0760
    lng = 72.8777


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"TST-SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n:04d}")
    brand = "Acme"
    category = "Fitness"
    price = factory.Faker("pydecimal", left_digits=4, right_digits=2, positive=True)
    description = "A product for tests."
    image = "img/categories/fitness.svg"


class InventoryFactory(DjangoModelFactory):
    """A stock row, opened empty and given its states through the ledger (one RECEIVED
    entry), so its ledger replays to its counters (invariant 5)."""

    class Meta:
        model = Inventory

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    total_stock = 10
    reserved_stock = 0

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        pairs = zip(STATES, COLUMNS, strict=True)
        states = {state: kwargs.pop(column, 0) for state, column in pairs}
        row = super()._create(model_class, *args, **kwargs)
        if any(states.values()):
            key = (row.product_id, row.warehouse_id)
            stock_locks.apply([stock_locks.Change(key, RECEIVED, "test:factory", **states)])
            row.refresh_from_db()
        return row


class UserFactory(DjangoModelFactory):
    """A signed-in shopper: the email is the username, as `seed` creates the staff user."""

    class Meta:
        model = settings.AUTH_USER_MODEL

    email = factory.Sequence(lambda n: f"shopper{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.django.Password("pw-123456")


class ReservationFactory(DjangoModelFactory):
    """A PENDING hold with ten minutes to go: the reservation row only.

    It is not counted in its inventory row's reserved_stock (invariant 2), no RESERVED event
    is written (invariant 4), and no stock row need exist. Tests that want the counters and the
    audit log consistent hold through reservations.services.holds.reserve instead.
    """

    class Meta:
        model = Reservation

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    quantity = 1
    status = Reservation.Status.PENDING
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")
    expires_at = factory.LazyAttribute(lambda r: r.created_at + timedelta(minutes=10))


class ReservationEventFactory(DjangoModelFactory):
    """The RESERVED event of a new ReservationFactory hold (the event row only)."""

    class Meta:
        model = ReservationEvent

    reservation = factory.SubFactory(ReservationFactory)
    type = ReservationEvent.Type.RESERVED
    product = factory.SelfAttribute("reservation.product")
    warehouse = factory.SelfAttribute("reservation.warehouse")
    quantity = factory.SelfAttribute("reservation.quantity")
    actor = "anonymous"
    payload = factory.LazyFunction(dict)
    created_at = factory.SelfAttribute("reservation.created_at")


class WaitlistEntryFactory(DjangoModelFactory):
    """A WAITING entry (the entry row only: no WAITLIST_JOINED event)."""

    class Meta:
        model = WaitlistEntry

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    quantity = 1
    email = factory.Sequence(lambda n: f"waiter{n}@example.com")
    status = WaitlistEntry.Status.WAITING
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("created_at")


class IdempotencyKeyFactory(DjangoModelFactory):
    """The stored first answer of an anonymous reserve sent with an Idempotency-Key."""

    class Meta:
        model = IdempotencyKey

    scope = "reservations.create|anonymous"
    key = factory.Sequence(lambda n: f"key-{n}")
    fingerprint = factory.LazyAttribute(lambda k: hashlib.sha256(k.key.encode()).hexdigest())
    response_status = 201
    response_body = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(timezone.now)


def key_client(*scopes: str) -> APIClient:
    """An API client sending a new API key with these scopes (an integration's)."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_key(name='erp', scopes=list(scopes)).plain}"
    )
    return client
