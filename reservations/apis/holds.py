"""Holds: reserve, list, read, and the confirm, release and extend actions on one hold.

The reserve endpoint is the hot path of the product: a plain input serializer, one service
call (one SQL statement) and an output dict built directly, documented for OpenAPI by
ReservationOutputSerializer.
"""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField, StrictBooleanField
from core.ids import parse_uuid
from core.openapi import documented, documented_page, error_response, uuid_path_parameter
from core.paging import DEFAULT_PAGE_SIZE, PageSerializer, page_response
from idempotency.decorators import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from idempotency.decorators import idempotent
from reservations import channels, guests
from reservations.apis.bodies import (
    ReleaseOutputSerializer,
    ReservationOutputSerializer,
    release_body,
    reservation_body,
)
from reservations.apis.inputs import LocatedSerializer, QuantityField
from reservations.models import Reservation
from reservations.services import holds, preorders, transitions
from reservations.services.waitlist import Promotion
from reservations.throttling import ReserveRateThrottle

_ID_PARAMETER = uuid_path_parameter("reservation_id")


# A hold's body: the hot path validates exactly this. (No docstrings on these two: the
# document describes the body with LocatedSerializer's.)
class ReserveInput(LocatedSerializer):
    productId = IdField()
    warehouseId = IdField(
        required=False,
        help_text="Omit to hold in the nearest warehouse that has the whole quantity "
        "(to lat/lng or city), or the one with most available without a location.",
    )
    quantity = QuantityField()


# The documented body, a hold's or a preorder's; only a body with `preorder` pays for its
# field and check.
@extend_schema_serializer(component_name="ReservationInput")
class ReserveOrPreorderInput(ReserveInput):
    preorder = StrictBooleanField(
        required=False,
        help_text="Preorder incoming units (the warehouse's row has none available and takes "
        "preorders): a CONFIRMED reservation of kind PREORDER, with its eta. Needs "
        "warehouseId, and a signed-in shopper or a channel's key.",
    )

    def validate(self, data: dict) -> dict:
        data = super().validate(data)
        if data.get("preorder") and "warehouseId" not in data:
            raise serializers.ValidationError({"warehouseId": "A preorder names its warehouse."})
        return data


# One instance each, its fields bound once: DRF deep-copies a serializer's declared fields for
# each new instance, which was an eighth of a hot-path request's CPU (docs/performance.md).
# run_validation keeps no state on the instance, so requests may share it.
_RESERVE_INPUT = ReserveInput()
_PREORDER_INPUT = ReserveOrPreorderInput()


def read_line(request: HttpRequest, data: Any) -> tuple[dict, dict]:
    """Validate a reserve's body: return the line and who holds it (the shopper's keywords of
    holds.reserve), or raise ValidationError as `is_valid(raise_exception=True)` does. Both
    reserve paths read it here: this view and the lean one (reservations/apis/lean_reserve.py).
    """
    preorder = isinstance(data, dict) and "preorder" in data
    line = (_PREORDER_INPUT if preorder else _RESERVE_INPUT).run_validation(data)
    shopper = {
        "product_id": line["productId"],
        "quantity": line["quantity"],
        "user": request.user,
        "guest_id": guests.guest_id_for_new_hold(request),
        "channel": channels.channel_of(request),
    }
    return line, shopper


class ReservationCollectionApi(APIView):
    throttle_classes = [ReserveRateThrottle]  # counts POST only: listing holds is not limited
    authentication_classes = channels.authentication_classes()  # a channel's key holds for it

    class FilterSerializer(PageSerializer):
        default_limit = DEFAULT_PAGE_SIZE

    @documented(
        "reservations_create",
        request=ReserveOrPreorderInput,
        parameters=[IDEMPOTENCY_KEY],
        ok=ReservationOutputSerializer,
        status=201,
        errors={
            400: "Bad input; STOCK_AVAILABLE (a preorder while units can be held)",
            404: "Unknown product or warehouse",
            401: "ACCOUNT_REQUIRED: the product needs a signed-in shopper",
            403: "An API key that is not a sales channel's (scope `holds`)",
            409: "INSUFFICIENT_STOCK, with `available`; NOT_ON_SALE, with `saleStartsAt`; "
            "LIMIT_REACHED, with `limit` and `alreadyHeld`; CHANNEL_QUOTA_REACHED; "
            "PREORDER_LIMIT_REACHED, with `remaining`; PREORDERS_CLOSED; or "
            "IDEMPOTENCY_KEY_IN_USE",
            422: "IDEMPOTENCY_KEY_REUSED; or PINCODE_NOT_SERVICEABLE",
            429: "RATE_LIMITED: over RESERVE_RATE_LIMIT for this client; see Retry-After",
        },
    )
    @idempotent("reservations.create")
    def post(self, request: Request) -> Response:
        """Hold units of a product in a warehouse until they are confirmed, released or expire."""
        line, shopper = read_line(request, request.data)
        if line.get("preorder"):
            preorder = preorders.place(warehouse_id=line["warehouseId"], **shopper)
            body = reservation_body(preorder, request)
        elif "warehouseId" in line:
            hold = holds.reserve(warehouse_id=line["warehouseId"], **shopper)
            body = reservation_body(hold, request)
        else:
            routed = holds.reserve_nearest(origin=line["origin"], **shopper)
            body = reservation_body(routed.reservation, request, routed.distance_km)
        response = Response(body, status=HTTPStatus.CREATED)
        guests.remember_guest(request, response, shopper["guest_id"])
        return response

    @documented_page(
        "reservations_list",
        item=ReservationOutputSerializer,
        filters=FilterSerializer,
        order="Newest first",
    )
    def get(self, request: Request) -> Response:
        """List holds, newest first: a guest's browser session's own, a signed-in shopper's
        own, or all for staff. Due holds among them expire first."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page, total = transitions.list_reservations(
            user=request.user, guest_id=guests.guest_id(request), **params.validated_data
        )
        return page_response([reservation_body(r, request) for r in page], total=total)


class ReservationDetailApi(APIView):
    @extend_schema(
        operation_id="reservations_retrieve",
        parameters=[_ID_PARAMETER],
        responses={200: ReservationOutputSerializer, 404: error_response("No such reservation")},
    )
    def get(self, request: Request, reservation_id: str) -> Response:
        """Return one hold, expiring it first if its time is up."""
        reservation = transitions.get_reservation(
            reservation_id=parse_uuid(reservation_id, name="reservationId"), user=request.user
        )
        return Response(reservation_body(reservation, request))


def _act_on_hold(
    service: Callable[..., Reservation], request: Request, reservation_id: str
) -> Response:
    """Parse the hold's id from the path, call the action's service, answer the hold."""
    reservation = service(
        reservation_id=parse_uuid(reservation_id, name="reservationId"), user=request.user
    )
    return Response(reservation_body(reservation, request))


class ReservationConfirmApi(APIView):
    @documented(
        "reservations_confirm",
        summary="Confirm a hold: its units leave stock (200 again if already confirmed).",
        parameters=[_ID_PARAMETER, IDEMPOTENCY_KEY],
        ok=ReservationOutputSerializer,
        errors={
            404: "No such reservation",
            409: "INVALID_TRANSITION: released (not by expiry); or IDEMPOTENCY_KEY_IN_USE",
            410: "EXPIRED",
            422: "IDEMPOTENCY_KEY_REUSED",
        },
    )
    @idempotent("reservations.confirm")
    def post(self, request: Request, reservation_id: str) -> Response:
        return _act_on_hold(transitions.confirm, request, reservation_id)


class ReservationReleaseApi(APIView):
    @documented(
        "reservations_release",
        summary="Release a hold: its units go back to stock (200 again if already released).",
        parameters=[_ID_PARAMETER],
        ok=ReleaseOutputSerializer,
        errors={404: "No such reservation", 409: "INVALID_TRANSITION: already confirmed"},
    )
    def post(self, request: Request, reservation_id: str) -> Response:
        """Release a hold, and say which waiting shopper (if any) its units went to."""
        promotions: list[Promotion] = []
        reservation = transitions.release(
            reservation_id=parse_uuid(reservation_id, name="reservationId"),
            user=request.user,
            promotions=promotions,
        )
        return Response(release_body(reservation, promotions, request))


class ReservationExtendApi(APIView):
    @documented(
        "reservations_extend",
        summary="Extend a live hold by its TTL, up to its maxExtensions times.",
        parameters=[_ID_PARAMETER],
        ok=ReservationOutputSerializer,
        errors={
            404: "No such reservation",
            409: "EXTENSION_LIMIT, or INVALID_TRANSITION",
            410: "EXPIRED",
        },
    )
    def post(self, request: Request, reservation_id: str) -> Response:
        return _act_on_hold(transitions.extend, request, reservation_id)
