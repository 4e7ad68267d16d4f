"""The waitlist: join it for units a warehouse cannot cover now, read and leave an entry."""

from http import HTTPStatus

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField, StrictSerializer
from core.ids import parse_uuid
from core.openapi import documented, error_response, uuid_path_parameter
from reservations.apis.bodies import WaitlistOutputSerializer, waitlist_body
from reservations.apis.inputs import QuantityField
from reservations.services import waitlist

_ID_PARAMETER = uuid_path_parameter("entry_id")


class WaitlistJoinApi(APIView):
    @extend_schema_serializer(component_name="WaitlistInput")
    class InputSerializer(StrictSerializer):
        productId = IdField()
        warehouseId = IdField()
        quantity = QuantityField()
        email = serializers.EmailField(max_length=254)

    @documented(
        "waitlist_join",
        request=InputSerializer,
        ok=WaitlistOutputSerializer,
        status=201,
        errors={
            400: "Bad input",
            404: "Unknown product or warehouse",
            409: "STOCK_AVAILABLE: reserve instead",
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
        return Response(waitlist_body(entry), status=HTTPStatus.CREATED)


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
