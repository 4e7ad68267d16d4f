"""Setting a sale's rules: product policies, channels and their allocations. The staff API
(integrations.sales_api) and the console call these; holds read them (sales.selectors)."""

import re

from django.db import IntegrityError, transaction

from core.errors import InvalidId, InvalidInput
from inventory.models import Product
from sales.errors import ChannelExists, ChannelNotFound, ProductNotFound, WarehouseNotFound
from sales.models import MAX_EXTENSIONS, WEB, Allocation, Channel, SalePolicy
from sales.selectors import POLICY_FIELDS
from warehouses.models import Warehouse

ALLOCATION_FIELDS = ("quota", "buffer", "buffer_percent", "floor")
# A channel's code: lowercase words of letters and digits joined by "-" or "_", 32 at most.
CHANNEL_CODE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
CHANNEL_CODE_LENGTH = 32
# The most units or seconds a rule may name (the columns are 32-bit).
MAX_UNITS = 2**31 - 1


def _product(product_id: int, *, lock: bool = False) -> Product:
    """The product; locked with `lock`, so two first writes of its rules do not both insert
    (nothing else locks product rows)."""
    products = Product.objects.select_for_update() if lock else Product.objects
    product = products.filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(f"No product {product_id}.")
    return product


def channel(code: str) -> Channel:
    """The channel with this code; raise ChannelNotFound. The storefront's (`web`) always
    exists (made again if its row was removed)."""
    if not is_channel_code(code):
        raise InvalidId(f"{code[:40]!r} is not a channel's code.")
    if code == WEB:
        return Channel.objects.get_or_create(code=WEB, defaults={"name": "Storefront"})[0]
    found = Channel.objects.filter(code=code).first()
    if found is None:
        raise ChannelNotFound(f"No sales channel {code!r}.")
    return found


def policy_of(product_id: int, *, channel_code: str | None = None) -> SalePolicy:
    """The product's policy (a channel's own, with `channel_code`); an empty, unsaved one if
    none is set."""
    product = _product(product_id)
    owner = None if channel_code is None else channel(channel_code)
    found = SalePolicy.objects.filter(product=product, channel=owner).first()
    return found or SalePolicy(product=product, channel=owner)


def _check_policy(policy: SalePolicy) -> None:
    """Refuse what the table's constraints would (InvalidInput, a 400, never a 500)."""
    starts, ends = policy.sale_starts_at, policy.sale_ends_at
    if starts is not None and ends is not None and ends <= starts:
        raise InvalidInput("saleEndsAt must be after saleStartsAt.")
    if policy.max_extensions is not None and not 0 <= policy.max_extensions <= MAX_EXTENSIONS:
        raise InvalidInput(f"maxExtensions must be between 0 and {MAX_EXTENSIONS}.")
    for name, field in (
        ("limitPerCustomer", "limit_per_customer"),
        ("holdSeconds", "hold_seconds"),
        ("holdSecondsSignedIn", "hold_seconds_signed_in"),
    ):
        value = getattr(policy, field)
        if value is not None and not 1 <= value <= MAX_UNITS:
            raise InvalidInput(f"{name} must be between 1 and {MAX_UNITS}.")


@transaction.atomic
def set_policy(product_id: int, changes: dict, *, channel_code: str | None = None) -> SalePolicy:
    """Change some of a product's policy fields (POLICY_FIELDS; None clears one). A policy
    left with no field set is removed: the product's holds take the hold statements again."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown policy fields: {', '.join(sorted(unknown))}.")
    _product(product_id, lock=True)
    policy = policy_of(product_id, channel_code=channel_code)
    for name, value in changes.items():
        setattr(policy, name, value)
    _check_policy(policy)
    if all(getattr(policy, name) is None for name in POLICY_FIELDS):
        if policy.pk is not None:
            policy.delete()
            policy.pk = None
        return policy
    policy.save()
    return policy


def is_channel_code(code: str) -> bool:
    return len(code) <= CHANNEL_CODE_LENGTH and CHANNEL_CODE.fullmatch(code) is not None


def create_channel(*, code: str, name: str) -> Channel:
    """Open a sales channel; raise InvalidInput for a code that is not a slug, ChannelExists
    when it is taken."""
    if not is_channel_code(code):
        raise InvalidInput(
            f"A channel's code is up to {CHANNEL_CODE_LENGTH} lowercase letters and digits, "
            'words joined by "-" or "_".'
        )
    try:
        with transaction.atomic():
            return Channel.objects.create(code=code, name=name.strip() or code)
    except IntegrityError:
        raise ChannelExists(f"A channel {code!r} exists already.") from None


def _check_allocation(values: dict) -> None:
    """Refuse what the table's constraints would (InvalidInput, a 400, never a 500)."""
    percent = values.get("buffer_percent")
    if percent is not None and not 0 <= percent <= 100:
        raise InvalidInput("bufferPercent must be between 0 and 100.")
    for name in ("quota", "buffer", "floor"):
        value = values.get(name)
        if value is not None and not 0 <= value <= MAX_UNITS:
            raise InvalidInput(f"{name} must be between 0 and {MAX_UNITS}.")


@transaction.atomic
def set_allocation(
    channel_code: str, product_id: int, values: dict, *, warehouse_id: int | None = None
) -> Allocation | None:
    """Set what a channel may sell of a product (in one warehouse, or all without one):
    ALLOCATION_FIELDS, each None when unset. All None removes the allocation (None returned)."""
    unknown = set(values) - set(ALLOCATION_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown allocation fields: {', '.join(sorted(unknown))}.")
    _check_allocation(values)
    owner, product = channel(channel_code), _product(product_id, lock=True)
    if warehouse_id is not None and not Warehouse.objects.filter(pk=warehouse_id).exists():
        raise WarehouseNotFound(f"No warehouse {warehouse_id}.")
    found = Allocation.objects.filter(channel=owner, product=product, warehouse_id=warehouse_id)
    if all(values.get(name) is None for name in ALLOCATION_FIELDS):
        found.delete()
        return None
    allocation = found.first() or Allocation(
        channel=owner, product=product, warehouse_id=warehouse_id
    )
    for name in ALLOCATION_FIELDS:
        setattr(allocation, name, values.get(name))
    allocation.save()
    return allocation


def allocations_of(channel_code: str) -> list[Allocation]:
    """A channel's allocations, by product."""
    return list(Allocation.objects.filter(channel=channel(channel_code)).order_by("product_id"))
