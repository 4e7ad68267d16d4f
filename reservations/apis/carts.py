"""Carts: hold every line or none, then confirm or release all of a cart's holds at once."""

from collections.abc import Callable
from http import HTTPStatus

from drf_spectacular.utils import extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField, StrictBooleanField, StrictSerializer
from core.ids import parse_uuid
from core.openapi import documented, uuid_path_parameter
from idempotency.decorators import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from idempotency.decorators import idempotent
from reservations import channels, guests
from reservations.apis.bodies import CartOutputSerializer, cart_body
from reservations.apis.inputs import LocatedSerializer, QuantityField
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts
from reservations.throttling import ReserveRateThrottle

MAX_CART_LINES = 50
_ID_PARAMETER = uuid_path_parameter("cart_id")


class ReservationBatchApi(APIView):
    authentication_classes = channels.authentication_classes()  # a channel's key holds for it
    throttle_classes = [ReserveRateThrottle]  # one budget with POST /api/reservations

    @extend_schema_serializer(component_name="CartLine")
    class LineSerializer(StrictSerializer):
        productId = IdField()
        warehouseId = IdField(required=False, help_text="Omit to route the line.")
        quantity = QuantityField()

    @extend_schema_serializer(component_name="CartInput")
    class InputSerializer(LocatedSerializer):
        items = serializers.ListField(allow_empty=False, max_length=MAX_CART_LINES)
        allowSplit = StrictBooleanField(
            required=False,
            default=False,
            help_text="Split a routed line no single warehouse covers over the fewest, "
            "nearest warehouses that together can.",
        )

        def validate_items(self, items: list) -> list[CartLine]:
            lines = ReservationBatchApi.LineSerializer(data=items, many=True)
            lines.is_valid(raise_exception=True)
            return [
                CartLine(line["productId"], line.get("warehouseId"), line["quantity"])
                for line in lines.validated_data
            ]

    @documented(
        "reservations_batch",
        # Documents `items` line by line (the input serializer takes them as a plain list).
        request=inline_serializer(
            "CartInput",
            {
                "items": LineSerializer(many=True),
                "lat": serializers.FloatField(required=False),
                "lng": serializers.FloatField(required=False),
                "city": serializers.CharField(required=False),
                "pincode": serializers.CharField(required=False),
                "allowSplit": serializers.BooleanField(required=False),
            },
        ),
        parameters=[IDEMPOTENCY_KEY],
        ok=CartOutputSerializer,
        status=201,
        errors={
            400: "Bad input, or more than 50 lines",
            404: "A product not stocked (in the warehouse asked for)",
            401: "ACCOUNT_REQUIRED: a product needs a signed-in shopper",
            403: "An API key that is not a sales channel's (scope `holds`)",
            409: "INSUFFICIENT_STOCK naming productId, warehouseId, available; or a sale "
            "rule's refusal (NOT_ON_SALE, LIMIT_REACHED, CHANNEL_QUOTA_REACHED)",
            422: "IDEMPOTENCY_KEY_REUSED; or PINCODE_NOT_SERVICEABLE",
            429: "RATE_LIMITED: over RESERVE_RATE_LIMIT for this client (one budget with "
            "POST /api/reservations); see Retry-After",
        },
    )
    @idempotent("reservations.batch")
    def post(self, request: Request) -> Response:
        """Hold every line of a cart or none: 201 with the cart, or 409 naming the short line."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        guest = guests.guest_id_for_new_hold(request)
        cart = carts.reserve_cart(
            lines=data.validated_data["items"],
            origin=data.validated_data["origin"],
            allow_split=data.validated_data["allowSplit"],
            user=request.user,
            guest_id=guest,
            channel=channels.channel_of(request),
        )
        held = [(hold.reservation, hold.distance_km) for hold in cart.holds]
        response = Response(cart_body(cart.cart_id, held, request), status=HTTPStatus.CREATED)
        guests.remember_guest(request, response, guest)
        return response


def _act_on_cart(
    service: Callable[..., list[Reservation]], request: Request, cart_id: str
) -> Response:
    """Parse the cart's id from the path, call the action's service, answer the cart."""
    reservations = service(cart_id=parse_uuid(cart_id, name="cartId"), user=request.user)
    held = [(r, None) for r in reservations]
    return Response(cart_body(reservations[0].cart_id, held, request))


class CartConfirmApi(APIView):
    @documented(
        "carts_confirm",
        summary="Confirm every hold of a cart in one transaction.",
        parameters=[_ID_PARAMETER],
        ok=CartOutputSerializer,
        errors={
            404: "No such cart",
            409: "INVALID_TRANSITION: a hold was released (not by expiry)",
            410: "EXPIRED: a hold's time is up (due holds are released)",
        },
    )
    def post(self, request: Request, cart_id: str) -> Response:
        return _act_on_cart(carts.confirm_cart, request, cart_id)


class CartReleaseApi(APIView):
    @documented(
        "carts_release",
        summary="Release every hold of a cart in one transaction.",
        parameters=[_ID_PARAMETER],
        ok=CartOutputSerializer,
        errors={
            404: "No such cart",
            409: "INVALID_TRANSITION: a hold was confirmed",
        },
    )
    def post(self, request: Request, cart_id: str) -> Response:
        return _act_on_cart(carts.release_cart, request, cart_id)
