"""`GET /api/availability`: what a sales channel may hold of a product now, per warehouse
(public; integrations.availability reads it)."""

from django.utils import timezone
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField
from core.openapi import documented
from integrations.availability import ChannelAvailability, channel_availability
from sales.models import WEB
from warehouses.errors import PincodeNotServiceable
from warehouses.pincodes import place_for_pincode


class WarehouseAvailabilitySerializer(serializers.Serializer):
    warehouseId = serializers.CharField()
    warehouseName = serializers.CharField()
    city = serializers.CharField()
    distanceKm = serializers.IntegerField(
        allow_null=True, help_text="Whole kilometres to the pincode; null without one."
    )
    available = serializers.IntegerField(help_text="What any shopper may hold of the row.")
    sellable = serializers.IntegerField(help_text="What the channel may hold of it now.")
    quota = serializers.IntegerField(allow_null=True, help_text="The channel's quota, if set.")
    remaining = serializers.IntegerField(
        allow_null=True, help_text="Units left of the quota in the sale window (null: no quota)."
    )


class AvailabilitySerializer(serializers.Serializer):
    productId = serializers.CharField()
    channel = serializers.CharField()
    onSale = serializers.BooleanField(help_text="Whether the sale window is open now.")
    saleStartsAt = serializers.DateTimeField(allow_null=True)
    saleEndsAt = serializers.DateTimeField(allow_null=True)
    sellable = serializers.IntegerField(
        help_text="What the channel may hold in all (a quota shared by warehouses counts once)."
    )
    warehouses = WarehouseAvailabilitySerializer(
        many=True, help_text="Nearest first with a pincode, else by warehouse id."
    )


class AvailabilityFilterSerializer(serializers.Serializer):
    productId = IdField()
    channel = serializers.CharField(
        required=False,
        default=WEB,
        max_length=32,
        help_text="The storefront's, `web`, if left out.",
    )
    pincode = serializers.CharField(
        required=False, max_length=12, help_text="A 6-digit Indian pincode: nearest first."
    )


def _availability(found: ChannelAvailability) -> dict:
    return {
        "productId": str(found.product_id),
        "channel": found.channel,
        "onSale": found.on_sale,
        "saleStartsAt": found.rules.sale_starts_at,
        "saleEndsAt": found.rules.sale_ends_at,
        "sellable": found.sellable,
        "warehouses": [
            {
                "warehouseId": str(offer.row.warehouse_id),
                "warehouseName": offer.row.warehouse.name,
                "city": offer.row.warehouse.city,
                "distanceKm": None if offer.distance_km is None else round(offer.distance_km),
                "available": offer.row.available_units,
                "sellable": offer.sellable,
                "quota": offer.quota,
                "remaining": offer.remaining,
            }
            for offer in found.offers
        ],
    }


class AvailabilityApi(APIView):
    permission_classes = [AllowAny]

    @documented(
        "availability_read",
        ok=AvailabilitySerializer,
        parameters=[AvailabilityFilterSerializer],
        errors={
            404: "NOT_FOUND: no such channel, or no such (active) product.",
            422: "PINCODE_NOT_SERVICEABLE: malformed or unknown pincode.",
        },
    )
    def get(self, request: Request) -> Response:
        """What a sales channel may hold of a product now, per warehouse: 0 outside the sale
        window, else available less what its allocation keeps back, at most its quota's
        remaining units."""
        params = AvailabilityFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        origin = None
        if "pincode" in data:
            place = place_for_pincode(data["pincode"])
            if place is None:
                raise PincodeNotServiceable(pincode=data["pincode"])
            origin = place.location
        found = channel_availability(
            product_id=data["productId"],
            channel_code=data["channel"],
            now=timezone.now(),
            origin=origin,
        )
        return Response(_availability(found))
