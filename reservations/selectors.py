"""Read paths for reservations. They never lock and never write."""

import uuid

from django.db.models import Q

from reservations.models import Reservation, WaitlistEntry


def reservation_detail(reservation_id: uuid.UUID) -> Reservation | None:
    """Return one hold with its product and warehouse (one query), or None."""
    return (
        Reservation.objects.select_related("product", "warehouse").filter(pk=reservation_id).first()
    )


def reservation_page(
    *, user, guest_id: uuid.UUID | None, limit: int, offset: int, own_only: bool = False
) -> tuple[list[Reservation], int]:
    """Return a page of the holds `user` (or guest) may see, newest first, and how many."""
    visible = Reservation.objects.visible_to(user, guest_id, own_only=own_only)
    page = visible.select_related("product", "warehouse").order_by("-created_at", "-pk")
    return list(page[offset : offset + limit]), visible.count()


def cart_holds(cart_id: uuid.UUID) -> list[Reservation]:
    """Return a cart's holds with their product and warehouse (one query), by product name."""
    return list(
        Reservation.objects.filter(cart_id=cart_id)
        .select_related("product", "warehouse")
        .order_by("product__name", "warehouse__city", "pk")
    )


def waiting_entry(
    *, product_id: int, warehouse_id: int, entry_ids: list[uuid.UUID], user
) -> WaitlistEntry | None:
    """Return the oldest waiting entry for a product and warehouse among `entry_ids` or, for
    a signed-in shopper, their own; None if neither waits there."""
    yours = Q(pk__in=entry_ids)
    if user.is_authenticated:
        yours |= Q(user_id=user.pk)
    return (
        WaitlistEntry.objects.filter(
            yours,
            product_id=product_id,
            warehouse_id=warehouse_id,
            status=WaitlistEntry.Status.WAITING,
        )
        .select_related("warehouse")
        .order_by("created_at", "pk")
        .first()
    )
