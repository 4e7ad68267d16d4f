"""The JSON each reservation endpoint answers, and the serializers documenting it for OpenAPI.

The hot path builds its answer as a plain dict (a serializer costs more than the hold);
tests/test_response_shapes.py holds every dict here to its serializer, field for field. Ids
are strings, as the original stockd's were.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from core.links import absolute_url
from reservations.models import Reservation, WaitlistEntry
from reservations.services import waitlist
from reservations.services.holds import NewHold


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def reservation_body(
    reservation: Reservation | NewHold, request: HttpRequest, distance_km: float | None = None
) -> dict[str, Any]:
    """Render a hold (stored, or just made by the coalescer) as the original stockd's JSON,
    without a serializer (hot path).

    A hold routed from the shopper's location also carries its warehouse's distance.
    """
    product, warehouse = reservation.product, reservation.warehouse
    body: dict[str, Any] = {
        "id": str(reservation.id),
        "productId": str(reservation.product_id),
        "warehouseId": str(reservation.warehouse_id),
        "quantity": reservation.quantity,
        "status": reservation.status,
        "kind": reservation.kind,
        "releaseReason": reservation.release_reason,
        "expiresAt": reservation.expires_at,
        "createdAt": reservation.created_at,
        "updatedAt": reservation.updated_at,
        "extended": reservation.extended,
        "extensions": reservation.extensions,
        "maxExtensions": reservation.max_extensions,
        "holdSeconds": reservation.hold_seconds or settings.RESERVATION_TTL_SECONDS,
        "channel": reservation.channel,
        "cartId": _id(reservation.cart_id),
        "product": {
            "id": str(product.id),
            "name": product.name,
            "price": product.price,
            "image": absolute_url(request, product.image_url),
            "category": product.category,
        },
        "warehouse": {
            "id": str(warehouse.id),
            "name": warehouse.name,
            "city": warehouse.city,
            "location": warehouse.location,
        },
    }
    if reservation.kind == Reservation.Kind.PREORDER:
        body["eta"] = reservation.eta
        body["served"] = reservation.served
    if reservation.confirmed_at:
        body["confirmedAt"] = reservation.confirmed_at
    if reservation.released_at:
        body["releasedAt"] = reservation.released_at
    if distance_km is not None:
        body["distanceKm"] = round(distance_km, 1)
    return body


class ReservationOutputSerializer(serializers.Serializer):
    """The shape reservation_body() returns (for the OpenAPI document)."""

    id = serializers.CharField(help_text="UUID")
    productId = serializers.CharField()
    warehouseId = serializers.CharField()
    quantity = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Reservation.Status.choices)
    kind = serializers.ChoiceField(
        choices=Reservation.Kind.choices,
        help_text="HOLD, or PREORDER: confirmed when placed, served when its units arrive.",
    )
    eta = serializers.DateField(
        required=False, allow_null=True, help_text="Only for preorders: the expected arrival."
    )
    served = serializers.IntegerField(
        required=False, help_text="Only for preorders: units that arrived and ship."
    )
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
    extended = serializers.BooleanField(help_text="Extended at least once.")
    extensions = serializers.IntegerField(help_text="How many times it was extended.")
    maxExtensions = serializers.IntegerField(help_text="How many extensions it may have.")
    holdSeconds = serializers.IntegerField(
        help_text="How long it lasts, and what each extension adds (its product's policy)."
    )
    channel = serializers.CharField(help_text="The sales channel it belongs to (`web`: the shop).")
    cartId = serializers.CharField(allow_null=True, help_text="UUID of the cart, if any.")
    product = inline_serializer(
        "ReservationProduct",
        {
            "id": serializers.CharField(),
            "name": serializers.CharField(),
            "price": serializers.FloatField(),
            "image": serializers.CharField(allow_null=True, help_text="Absolute URL."),
            "category": serializers.CharField(),
        },
    )
    warehouse = inline_serializer(
        "ReservationWarehouse",
        {
            "id": serializers.CharField(),
            "name": serializers.CharField(),
            "city": serializers.CharField(),
            "location": serializers.CharField(),
        },
    )


def cart_body(
    cart_id: Any, holds: list[tuple[Reservation, float | None]], request: HttpRequest
) -> dict[str, Any]:
    return {
        "cartId": str(cart_id),
        "reservations": [reservation_body(r, request, distance) for r, distance in holds],
    }


CartOutputSerializer = inline_serializer(
    "Cart",
    {
        "cartId": serializers.CharField(help_text="UUID"),
        "reservations": ReservationOutputSerializer(many=True),
    },
)


def promotion_body(promotion: waitlist.Promotion) -> dict[str, str]:
    return {
        "waitlistEntryId": str(promotion.waitlist_entry_id),
        "reservationId": str(promotion.reservation_id),
    }


class PromotionOutputSerializer(serializers.Serializer):
    """The shape promotion_body() returns: a waiting entry and the hold it got."""

    waitlistEntryId = serializers.CharField()
    reservationId = serializers.CharField()


def release_body(
    reservation: Reservation, promotions: list[waitlist.Promotion], request: HttpRequest
) -> dict[str, Any]:
    """The original's release answer: the hold, and the waitlist entry its units went to."""
    return {
        "reservation": reservation_body(reservation, request),
        "waitlistPromotion": promotion_body(promotions[0]) if promotions else None,
    }


ReleaseOutputSerializer = inline_serializer(
    "ReleaseResult",
    {
        "reservation": ReservationOutputSerializer(),
        "waitlistPromotion": PromotionOutputSerializer(allow_null=True),
    },
)


def waitlist_body(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "status": entry.status,
        "position": waitlist.position(entry),
        "reservationId": _id(entry.reservation_id),
        "productId": str(entry.product_id),
        "warehouseId": str(entry.warehouse_id),
        "quantity": entry.quantity,
        "email": entry.email,
        "createdAt": entry.created_at,
    }


class WaitlistOutputSerializer(serializers.Serializer):
    """The shape waitlist_body() returns (for the OpenAPI document)."""

    id = serializers.CharField(help_text="UUID")
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices)
    position = serializers.IntegerField(
        allow_null=True, help_text="1 is next; null once not waiting."
    )
    reservationId = serializers.CharField(allow_null=True)
    productId = serializers.CharField()
    warehouseId = serializers.CharField()
    quantity = serializers.IntegerField()
    email = serializers.EmailField()
    createdAt = serializers.DateTimeField()


def joined_body(entry: WaitlistEntry) -> dict[str, Any]:
    """The original's answer to joining: the entry and a sentence with its place."""
    body = waitlist_body(entry)
    product, warehouse = entry.product.name, entry.warehouse.name
    message = (
        f"You're #{body['position']} on the waitlist for {product} at {warehouse}. "
        "We'll hold the units for you and email you when they come back."
    )
    return {"entry": body, "message": message}


def already_waiting_message(entry: dict[str, Any]) -> str:
    """The original's sentence for an email already waiting (its UI shows it in a toast)."""
    return f"You're already on the waitlist, at #{entry['position']}."


JoinedOutputSerializer = inline_serializer(
    "WaitlistJoined", {"entry": WaitlistOutputSerializer(), "message": serializers.CharField()}
)
