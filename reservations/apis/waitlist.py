"""The waitlist: join it for units a warehouse cannot cover now, read and leave an entry."""

from http import HTTPStatus

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField, StrictSerializer
from core.ids import parse_uuid
from core.openapi import documented, documented_page, error_response, uuid_path_parameter
from core.paging import DEFAULT_PAGE_SIZE, PageSerializer, page_response
from reservations.apis.bodies import (
    JoinedOutputSerializer,
    WaitlistOutputSerializer,
    already_waiting_message,
    joined_body,
    waitlist_body,
)
from reservations.apis.inputs import QuantityField
from reservations.errors import AlreadyWaiting
from reservations.services import waitlist

_ID_PARAMETER = uuid_path_parameter("entry_id")


class WaitlistJoinApi(APIView):
    @extend_schema_serializer(component_name="WaitlistInput")
    class InputSerializer(StrictSerializer):
        productId = IdField()
        warehouseId = IdField()
        quantity = QuantityField()
        email = serializers.EmailField(max_length=254)

    class FilterSerializer(PageSerializer):
        default_limit = DEFAULT_PAGE_SIZE

    def get_permissions(self):
        return [IsAdminUser()] if self.request.method == "GET" else []

    @documented(
        "waitlist_join",
        request=InputSerializer,
        ok=JoinedOutputSerializer,
        status=201,
        errors={
            400: "Bad input; or STOCK_AVAILABLE (with `available`): reserve instead",
            404: "Unknown product or warehouse",
            409: "ALREADY_WAITING, with the waiting `entry` and its `position`",
        },
    )
    def post(self, request: Request) -> Response:
        """Wait for units a warehouse cannot cover now; they are held for you when they return."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        joined = waitlist.join_waitlist(
            product_id=data.validated_data["productId"],
            warehouse_id=data.validated_data["warehouseId"],
            quantity=data.validated_data["quantity"],
            email=data.validated_data["email"],
            user=request.user,
        )
        if not joined.created:
            entry = waitlist_body(joined.entry)
            raise AlreadyWaiting(
                entry=entry, position=entry["position"], message=already_waiting_message(entry)
            )
        return Response(joined_body(joined.entry), status=HTTPStatus.CREATED)

    @documented_page(
        "waitlist_list",
        item=WaitlistOutputSerializer,
        filters=FilterSerializer,
        order="Newest first",
        errors={403: "Not staff"},
    )
    def get(self, request: Request) -> Response:
        """List every waitlist entry, newest first (staff only: entries carry emails)."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        entries, total = waitlist.list_entries(**params.validated_data)
        return page_response([waitlist_body(entry) for entry in entries], total=total)


class WaitlistEntryApi(APIView):
    @extend_schema(
        operation_id="waitlist_retrieve",
        parameters=[_ID_PARAMETER],
        responses={200: WaitlistOutputSerializer, 404: error_response("No such entry")},
    )
    def get(self, request: Request, entry_id: str) -> Response:
        """Return a waitlist entry with its place in the queue."""
        entry = waitlist.get_entry(entry_id=parse_uuid(entry_id, name="entryId"), user=request.user)
        return Response(waitlist_body(entry))

    @documented(
        "waitlist_cancel",
        parameters=[_ID_PARAMETER],
        ok=WaitlistOutputSerializer,
        errors={
            404: "No such entry",
            409: "INVALID_TRANSITION: already promoted",
        },
    )
    def delete(self, request: Request, entry_id: str) -> Response:
        """Leave the waitlist (200 again if already cancelled)."""
        entry = waitlist.cancel_entry(
            entry_id=parse_uuid(entry_id, name="entryId"), user=request.user
        )
        return Response(waitlist_body(entry))
