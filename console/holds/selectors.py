"""Read paths of the console's reservations page. They never lock and never write."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from reservations.models import Reservation


@dataclass(frozen=True)
class HoldFilters:
    """Which holds to list: any of status, product, warehouse, and a creation window
    (`since` inclusive, `until` exclusive)."""

    status: str = ""
    product_id: int | None = None
    warehouse_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def hold_list(filters: HoldFilters) -> QuerySet[Reservation]:
    """Return the holds `filters` selects, newest first, with product, warehouse and user
    joined (not yet fetched: the caller slices a page of it)."""
    holds = Reservation.objects.select_related("product", "warehouse", "user")
    if filters.status:
        holds = holds.filter(status=filters.status)
    if filters.product_id is not None:
        holds = holds.filter(product_id=filters.product_id)
    if filters.warehouse_id is not None:
        holds = holds.filter(warehouse_id=filters.warehouse_id)
    if filters.since is not None:
        holds = holds.filter(created_at__gte=filters.since)
    if filters.until is not None:
        holds = holds.filter(created_at__lt=filters.until)
    return holds.order_by("-created_at", "-pk")


def holds_by_id(ids: Sequence[uuid.UUID]) -> list[Reservation]:
    """Return the holds of `ids` that exist, newest first, with product, warehouse and user."""
    return list(
        Reservation.objects.select_related("product", "warehouse", "user")
        .filter(pk__in=ids)
        .order_by("-created_at", "-pk")
    )
