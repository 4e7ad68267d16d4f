"""Input fields and serializers shared by the reservation endpoints."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from core.fields import StrictFloatField, StrictIntegerField, StrictSerializer
from warehouses.errors import PincodeNotServiceable
from warehouses.pincodes import place_for_pincode
from warehouses.routing import KNOWN_CITIES, Location, city_location


class QuantityField(StrictIntegerField):
    """Units for one hold: 1 to MAX_QUANTITY_PER_RESERVATION."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        value = super().to_internal_value(data)
        limit = settings.MAX_QUANTITY_PER_RESERVATION
        if value > limit:
            raise serializers.ValidationError(f"Ensure this value is at most {limit}.")
        return value


class LocatedSerializer(StrictSerializer):
    """Where the shopper is: lat and lng together, a pincode, or a known city.

    The most precise one given wins: lat/lng, then pincode, then city. An unknown pincode is
    422 PINCODE_NOT_SERVICEABLE, as in the delivery check.
    """

    lat = StrictFloatField(required=False, min_value=-90, max_value=90)
    lng = StrictFloatField(required=False, min_value=-180, max_value=180)
    pincode = serializers.CharField(required=False, max_length=12)
    city = serializers.CharField(required=False, max_length=80)

    def validate(self, data: dict) -> dict:
        if ("lat" in data) != ("lng" in data):
            raise serializers.ValidationError({"lat": ["Give lat and lng together."]})
        if "lat" in data:
            data["origin"] = Location(data["lat"], data["lng"])
        elif "pincode" in data:
            place = place_for_pincode(data["pincode"])
            if place is None:
                raise PincodeNotServiceable(pincode=data["pincode"])
            data["origin"] = place.location
        elif "city" in data:
            data["origin"] = city_location(data["city"])
            if data["origin"] is None:
                known = ", ".join(sorted(KNOWN_CITIES))
                raise serializers.ValidationError({"city": [f"Unknown city. Known: {known}."]})
        else:
            data["origin"] = None
        return data
