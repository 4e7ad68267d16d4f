"""The JSON each reservation endpoint answers, and the serializers documenting it for OpenAPI.

The hot path builds its answer as a plain dict (a serializer costs more than the hold);
tests/test_response_shapes.py holds every dict here to its serializer, field for field.
"""

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from reservations.models import Reservation, WaitlistEntry
from reservations.services import waitlist


def reservation_body(reservation: Reservation, distance_km: float | None = None) -> dict[str, Any]:
    """Render a hold as the original stockd's JSON, without a serializer (hot path).

    A hold routed from the shopper's location also carries its warehouse's distance.
    """
    product, warehouse = reservation.product, reservation.warehouse
    body: dict[str, Any] = {
        "id": reservation.id,
        "productId": reservation.product_id,
        "warehouseId": reservation.warehouse_id,
        "quantity": reservation.quantity,
        "status": reservation.status,
        "releaseReason": reservation.release_reason,
        "expiresAt": reservation.expires_at,
        "createdAt": reservation.created_at,
        "updatedAt": reservation.updated_at,
        "extended": reservation.extended,
        "cartId": reservation.cart_id,
        "product": {
            "id": product.id,
            "name": product.name,
            "price": product.price,
            "image": product.image_url,
        },
        "warehouse": {"id": warehouse.id, "name": warehouse.name, "city": warehouse.city},
    }
    if reservation.confirmed_at:
        body["confirmedAt"] = reservation.confirmed_at
    if reservation.released_at:
        body["releasedAt"] = reservation.released_at
    if distance_km is not None:
        body["distanceKm"] = round(distance_km, 1)
    return body


class ReservationOutputSerializer(serializers.Serializer):
    """The shape reservation_body() returns (for the OpenAPI document)."""

    id = serializers.UUIDField()
    productId = serializers.IntegerField()
    warehouseId = serializers.IntegerField()
    quantity = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Reservation.Status.choices)
    releaseReason = serializers.ChoiceField(
        choices=Reservation.ReleaseReason.choices, allow_null=True
    )
    expiresAt = serializers.DateTimeField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    confirmedAt = serializers.DateTimeField(required=False, help_text="Only once confirmed.")
    releasedAt = serializers.DateTimeField(required=False, help_text="Only once released.")
    distanceKm = serializers.FloatField(
        required=False, help_text="Only for a hold routed from the shopper's location."
    )
    extended = serializers.BooleanField()
    cartId = serializers.UUIDField(allow_null=True)
    product = inline_serializer(
        "ReservationProduct",
        {
            "id": serializers.IntegerField(),
            "name": serializers.CharField(),
            "price": serializers.FloatField(),
            "image": serializers.CharField(allow_null=True),
        },
    )
    warehouse = inline_serializer(
        "ReservationWarehouse",
        {
            "id": serializers.IntegerField(),
            "name": serializers.CharField(),
            "city": serializers.CharField(),
        },
    )


def cart_body(cart_id, holds: list[tuple[Reservation, float | None]]) -> dict[str, Any]:
    return {
        "cartId": cart_id,
        "reservations": [reservation_body(r, distance) for r, distance in holds],
    }


CartOutputSerializer = inline_serializer(
    "Cart",
    {
        "cartId": serializers.UUIDField(),
        "reservations": ReservationOutputSerializer(many=True),
    },
)


def waitlist_body(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "status": entry.status,
        "position": waitlist.position(entry),
        "reservationId": entry.reservation_id,
        "productId": entry.product_id,
        "warehouseId": entry.warehouse_id,
        "quantity": entry.quantity,
        "createdAt": entry.created_at,
    }


class WaitlistOutputSerializer(serializers.Serializer):
    """The shape waitlist_body() returns (for the OpenAPI document)."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    position = serializers.IntegerField(
        allow_null=True, help_text="1 is next; null once not waiting."
    )
    reservationId = serializers.UUIDField(allow_null=True)
    productId = serializers.IntegerField()
    warehouseId = serializers.IntegerField()
    quantity = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
