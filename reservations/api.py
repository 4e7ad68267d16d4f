"""Reservation API: reserve, read, list, confirm, release, extend, and the cron sweep.

The reserve endpoint is the hot path of the product: a plain input serializer, one service
call (one SQL statement) and an output dict built directly, documented for OpenAPI by the
output serializer below.
"""

import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reservations import services, waitlist
from reservations.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from reservations.idempotency import idempotent
from reservations.models import Reservation, WaitlistEntry
from reservations.planning import CartLine
from stockd.errors import StockdError
from stockd.ids import parse_uuid
from stockd.serializers import (
    IdField,
    OffsetField,
    StrictBooleanField,
    StrictFloatField,
    StrictIntegerField,
    StrictSerializer,
)
from warehouses.routing import KNOWN_CITIES, Location, city_location

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


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
            "image": f"{settings.STATIC_URL}{product.image}" if product.image else None,
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


ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(),
        "detail": serializers.CharField(),
        "available": serializers.IntegerField(required=False),
    },
)
_ID_PARAMETER = OpenApiParameter("reservation_id", str, OpenApiParameter.PATH, description="UUID")


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


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
    """Where the shopper is: lat and lng together, or a known city (lat/lng win if both)."""

    lat = StrictFloatField(required=False, min_value=-90, max_value=90)
    lng = StrictFloatField(required=False, min_value=-180, max_value=180)
    city = serializers.CharField(required=False, max_length=80)

    def validate(self, data: dict) -> dict:
        if ("lat" in data) != ("lng" in data):
            raise serializers.ValidationError({"lat": ["Give lat and lng together."]})
        if "lat" in data:
            data["origin"] = Location(data["lat"], data["lng"])
        elif "city" in data:
            data["origin"] = city_location(data["city"])
            if data["origin"] is None:
                known = ", ".join(sorted(KNOWN_CITIES))
                raise serializers.ValidationError({"city": [f"Unknown city. Known: {known}."]})
        else:
            data["origin"] = None
        return data


class ReservationCollectionApi(APIView):
    @extend_schema_serializer(component_name="ReservationInput")
    class InputSerializer(LocatedSerializer):
        productId = IdField()
        warehouseId = IdField(
            required=False,
            help_text="Omit to hold in the nearest warehouse that has the whole quantity "
            "(to lat/lng or city), or the one with most available without a location.",
        )
        quantity = QuantityField()

    class FilterSerializer(serializers.Serializer):
        limit = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
        )
        offset = OffsetField()

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "GET" else []

    @extend_schema(
        operation_id="reservations_create",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ReservationOutputSerializer,
            400: _error("Bad input"),
            404: _error("Unknown product or warehouse"),
            409: _error("INSUFFICIENT_STOCK, with `available`; or IDEMPOTENCY_KEY_IN_USE"),
            422: _error("IDEMPOTENCY_KEY_REUSED"),
        },
    )
    @idempotent("reservations.create")
    def post(self, request: Request) -> Response:
        """Hold units of a product in a warehouse until they are confirmed, released or expire."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = data.validated_data
        if "warehouseId" in line:
            reservation = services.reserve(
                product_id=line["productId"],
                warehouse_id=line["warehouseId"],
                quantity=line["quantity"],
                user=request.user,
            )
            return Response(reservation_body(reservation), status=status.HTTP_201_CREATED)
        hold = services.reserve_nearest(
            product_id=line["productId"],
            quantity=line["quantity"],
            origin=line["origin"],
            user=request.user,
        )
        return Response(
            reservation_body(hold.reservation, hold.distance_km), status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="reservations_list",
        parameters=[FilterSerializer],
        responses={
            200: OpenApiResponse(
                ReservationOutputSerializer(many=True),
                description="Newest first; X-Total-Count holds the number visible in all.",
            ),
            403: _error("Not signed in"),
        },
    )
    def get(self, request: Request) -> Response:
        """List holds, newest first: a shopper's own, or all for staff. Due holds expire first."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page, total = services.list_reservations(user=request.user, **params.validated_data)
        return Response([reservation_body(r) for r in page], headers={"X-Total-Count": str(total)})


class ReservationDetailApi(APIView):
    @extend_schema(
        operation_id="reservations_retrieve",
        parameters=[_ID_PARAMETER],
        responses={200: ReservationOutputSerializer, 404: _error("No such reservation")},
    )
    def get(self, request: Request, reservation_id: str) -> Response:
        """Return one hold, expiring it first if its time is up."""
        reservation = services.get_reservation(
            reservation_id=parse_uuid(reservation_id, name="reservationId"), user=request.user
        )
        return Response(reservation_body(reservation))


def _action_view(
    service,
    *,
    target: str,
    label: str,
    render: Callable[[Any], dict[str, Any]],
    response: Any,
    operation_id: str,
    summary: str,
    errors: dict[int, str],
    idempotency_scope: str | None = None,
):
    """Build the POST view of one action on a reservation or cart: parse the UUID in the path
    (the `target` keyword, named `label` in errors), call the service, render its result.

    With `idempotency_scope`, requests carrying an Idempotency-Key run at most once.
    """
    path_id = OpenApiParameter(target, str, OpenApiParameter.PATH, description="UUID")
    parameters = [path_id, *([IDEMPOTENCY_KEY] if idempotency_scope else [])]
    once = idempotent(idempotency_scope) if idempotency_scope else (lambda method: method)

    class ActionApi(APIView):
        @extend_schema(
            operation_id=operation_id,
            summary=summary,
            request=None,
            parameters=parameters,
            responses={200: response, **{c: _error(d) for c, d in errors.items()}},
        )
        @once
        def post(self, request: Request, **path: str) -> Response:
            result = service(**{target: parse_uuid(path[target], name=label)}, user=request.user)
            return Response(render(result))

    ActionApi.__name__ = ActionApi.__qualname__ = f"{operation_id.title().replace('_', '')}Api"
    return ActionApi.as_view()


def _transition_view(service, **options):
    """An action on one reservation, answering the reservation."""
    return _action_view(
        service,
        target="reservation_id",
        label="reservationId",
        render=reservation_body,
        response=ReservationOutputSerializer,
        **options,
    )


reservation_confirm = _transition_view(
    services.confirm,
    operation_id="reservations_confirm",
    summary="Confirm a hold: its units leave stock (200 again if already confirmed).",
    errors={
        404: "No such reservation",
        409: "INVALID_TRANSITION: released (not by expiry); or IDEMPOTENCY_KEY_IN_USE",
        410: "RESERVATION_EXPIRED",
        422: "IDEMPOTENCY_KEY_REUSED",
    },
    idempotency_scope="reservations.confirm",
)
reservation_release = _transition_view(
    services.release,
    operation_id="reservations_release",
    summary="Release a hold: its units go back to stock (200 again if already released).",
    errors={404: "No such reservation", 409: "INVALID_TRANSITION: already confirmed"},
)
reservation_extend = _transition_view(
    services.extend,
    operation_id="reservations_extend",
    summary="Extend a live hold once by RESERVATION_TTL_SECONDS.",
    errors={
        404: "No such reservation",
        409: "EXTENSION_LIMIT, or INVALID_TRANSITION",
        410: "RESERVATION_EXPIRED",
    },
)


# --- carts -----------------------------------------------------------------------------------

MAX_CART_LINES = 50


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


class ReservationBatchApi(APIView):
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

    @extend_schema(
        operation_id="reservations_batch",
        request=inline_serializer(
            "CartInput",
            {
                "items": LineSerializer(many=True),
                "lat": serializers.FloatField(required=False),
                "lng": serializers.FloatField(required=False),
                "city": serializers.CharField(required=False),
                "allowSplit": serializers.BooleanField(required=False),
            },
        ),
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: CartOutputSerializer,
            400: _error("Bad input, or more than 50 lines"),
            404: _error("A product not stocked (in the warehouse asked for)"),
            409: _error("INSUFFICIENT_STOCK naming productId, warehouseId, available"),
            422: _error("IDEMPOTENCY_KEY_REUSED"),
        },
    )
    @idempotent("reservations.batch")
    def post(self, request: Request) -> Response:
        """Hold every line of a cart or none: 201 with the cart, or 409 naming the short line."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.reserve_cart(
            lines=data.validated_data["items"],
            origin=data.validated_data["origin"],
            allow_split=data.validated_data["allowSplit"],
            user=request.user,
        )
        holds = [(hold.reservation, hold.distance_km) for hold in cart.holds]
        return Response(cart_body(cart.cart_id, holds), status=status.HTTP_201_CREATED)


def _cart_view(service, **options):
    """An action on every hold of a cart, answering the cart."""
    return _action_view(
        service,
        target="cart_id",
        label="cartId",
        render=lambda reservations: cart_body(
            reservations[0].cart_id, [(r, None) for r in reservations]
        ),
        response=CartOutputSerializer,
        **options,
    )


cart_confirm = _cart_view(
    services.confirm_cart,
    operation_id="carts_confirm",
    summary="Confirm every hold of a cart in one transaction.",
    errors={
        404: "No such cart",
        409: "INVALID_TRANSITION: a hold was released (not by expiry)",
        410: "RESERVATION_EXPIRED: a hold's time is up (due holds are released)",
    },
)
cart_release = _cart_view(
    services.release_cart,
    operation_id="carts_release",
    summary="Release every hold of a cart in one transaction.",
    errors={404: "No such cart", 409: "INVALID_TRANSITION: a hold was confirmed"},
)


class CronSecretInvalid(StockdError):
    code = "UNAUTHORIZED"
    status = status.HTTP_401_UNAUTHORIZED
    detail = "The x-cron-secret header is missing or wrong."


class CronExpireApi(APIView):
    authentication_classes: list = []

    @extend_schema(
        operation_id="cron_expire",
        parameters=[OpenApiParameter("x-cron-secret", str, OpenApiParameter.HEADER, required=True)],
        responses={
            200: inline_serializer(
                "CronExpireResult",
                {
                    "released": serializers.IntegerField(),
                    "waitlistPromotions": serializers.IntegerField(),
                },
            ),
            401: _error("Missing or wrong x-cron-secret"),
        },
    )
    def get(self, request: Request) -> Response:
        """Release every due hold, for hosts that call a URL on a schedule instead of Celery."""
        expected = settings.CRON_SECRET.encode()
        given = request.headers.get("x-cron-secret", "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            raise CronSecretInvalid()
        with waitlist.counting_promotions() as promotions:
            released = services.expire_due_reservations(actor="system:cron")
        return Response({"released": released, "waitlistPromotions": promotions[0]})


# --- waitlist ------------------------------------------------------------------------------


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


_ENTRY_PARAMETER = OpenApiParameter("entry_id", str, OpenApiParameter.PATH, description="UUID")


class WaitlistJoinApi(APIView):
    @extend_schema_serializer(component_name="WaitlistInput")
    class InputSerializer(StrictSerializer):
        productId = IdField()
        warehouseId = IdField()
        quantity = QuantityField()
        email = serializers.EmailField(max_length=254)

    @extend_schema(
        operation_id="waitlist_join",
        request=InputSerializer,
        responses={
            201: WaitlistOutputSerializer,
            400: _error("Bad input"),
            404: _error("Unknown product or warehouse"),
            409: _error("STOCK_AVAILABLE: reserve instead"),
        },
    )
    def post(self, request: Request) -> Response:
        """Wait for units a warehouse cannot cover now; they are held for you when they return."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = waitlist.join_waitlist(
            product_id=data.validated_data["productId"],
            warehouse_id=data.validated_data["warehouseId"],
            quantity=data.validated_data["quantity"],
            email=data.validated_data["email"],
            user=request.user,
        )
        return Response(waitlist_body(entry), status=status.HTTP_201_CREATED)


class WaitlistEntryApi(APIView):
    @extend_schema(
        operation_id="waitlist_retrieve",
        parameters=[_ENTRY_PARAMETER],
        responses={200: WaitlistOutputSerializer, 404: _error("No such entry")},
    )
    def get(self, request: Request, entry_id: str) -> Response:
        """Return a waitlist entry with its place in the queue."""
        entry = waitlist.get_entry(entry_id=parse_uuid(entry_id, name="entryId"), user=request.user)
        return Response(waitlist_body(entry))

    @extend_schema(
        operation_id="waitlist_cancel",
        parameters=[_ENTRY_PARAMETER],
        responses={
            200: WaitlistOutputSerializer,
            404: _error("No such entry"),
            409: _error("INVALID_TRANSITION: already promoted"),
        },
    )
    def delete(self, request: Request, entry_id: str) -> Response:
        """Leave the waitlist (200 again if already cancelled)."""
        entry = waitlist.cancel_entry(
            entry_id=parse_uuid(entry_id, name="entryId"), user=request.user
        )
        return Response(waitlist_body(entry))
