"""The transfers API (scope stock:read to read, stock:write to act; or staff): create a
transfer, ship, receive (with damaged units), cancel, read one with its history, list them.
Every action requires an Idempotency-Key. The services are transfers.services'."""

from http import HTTPStatus

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import IdField, StrictIntegerField, StrictSerializer
from core.ids import parse_uuid
from core.openapi import documented, documented_page, uuid_path_parameter
from core.paging import PageSerializer, page_response
from idempotency.decorators import REQUIRED_OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from idempotency.decorators import idempotent
from integrations.authentication import actor_of
from integrations.stock_api import AUTH_ERRORS, StockApi
from reservations.services.stock_states import MAX_UNITS
from transfers import services
from transfers.models import Transfer

_ID = uuid_path_parameter("transfer_id")
_KEY_ERRORS = {428: "IDEMPOTENCY_KEY_REQUIRED: no Idempotency-Key header."}


class TransferLineSerializer(serializers.Serializer):
    productId = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units the transfer moves.")
    shipped = serializers.IntegerField(help_text="Units that left the source (0 until shipped).")
    received = serializers.IntegerField(help_text="Good units that arrived.")
    damaged = serializers.IntegerField(help_text="Units that arrived broken (unsellable).")


class TransferStepSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["CREATED", "SHIPPED", "RECEIVED", "CANCELLED"])
    state = serializers.ChoiceField(choices=Transfer.State.choices, help_text="State after it.")
    actor = serializers.CharField()
    lines = serializers.ListField(
        child=serializers.DictField(), help_text="What the step did, line by line."
    )
    idempotencyKey = serializers.CharField()
    at = serializers.DateTimeField()


class TransferSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="UUID")
    fromWarehouseId = serializers.CharField()
    toWarehouseId = serializers.CharField()
    reference = serializers.CharField()
    state = serializers.ChoiceField(choices=Transfer.State.choices)
    lines = TransferLineSerializer(many=True)
    history = TransferStepSerializer(many=True, help_text="Oldest first.")
    createdBy = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    shippedAt = serializers.DateTimeField(allow_null=True)
    receivedAt = serializers.DateTimeField(allow_null=True, help_text="When the last unit came.")
    cancelledAt = serializers.DateTimeField(allow_null=True)


def transfer_body(transfer: Transfer) -> dict:
    """A transfer as the API shows it (TransferSerializer)."""
    return {
        "id": str(transfer.pk),
        "fromWarehouseId": str(transfer.source_id),
        "toWarehouseId": str(transfer.destination_id),
        "reference": transfer.reference,
        "state": transfer.state,
        "lines": [
            {
                "productId": str(line.product_id),
                "quantity": line.quantity,
                "shipped": line.quantity if transfer.shipped else 0,
                "received": line.received,
                "damaged": line.damaged,
            }
            for line in transfer.lines.all()
        ],
        "history": [
            {
                "action": step.action,
                "state": step.state,
                "actor": step.actor,
                "lines": step.lines,
                "idempotencyKey": step.idempotency_key,
                "at": step.created_at,
            }
            for step in transfer.steps.all()
        ],
        "createdBy": transfer.created_by,
        "createdAt": transfer.created_at,
        "updatedAt": transfer.updated_at,
        "shippedAt": transfer.shipped_at,
        "receivedAt": transfer.received_at,
        "cancelledAt": transfer.cancelled_at,
    }


def _answer(transfer: Transfer, status: int = HTTPStatus.OK) -> Response:
    return Response(transfer_body(services.get(transfer.pk)), status=status)


def _units(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(max_value=MAX_UNITS, **kwargs)


class TransfersApi(StockApi):
    @extend_schema_serializer(component_name="TransferInput")
    class InputSerializer(StrictSerializer):
        class TransferLineInputSerializer(StrictSerializer):
            productId = IdField()
            quantity = _units(min_value=1)

        fromWarehouseId = IdField()
        toWarehouseId = IdField()
        lines = TransferLineInputSerializer(many=True, min_length=1, max_length=services.MAX_LINES)
        reference = serializers.CharField(required=False, allow_blank=True, max_length=200)

    class FilterSerializer(PageSerializer):
        default_limit = 50
        state = serializers.ChoiceField(choices=Transfer.State.choices, required=False)
        warehouseId = IdField(required=False, help_text="From or to this warehouse.")

    @documented(
        "transfers_create",
        request=InputSerializer,
        ok=TransferSerializer,
        status=201,
        parameters=[IDEMPOTENCY_KEY],
        errors={
            400: "VALIDATION_ERROR: bad input, one warehouse on both ends, a product twice",
            **AUTH_ERRORS,
            404: "NOT_FOUND (with `index` for a line): no such warehouse or product, or the "
            "source does not stock it",
            **_KEY_ERRORS,
        },
    )
    @idempotent("transfers.create", required=True)
    def post(self, request: Request) -> Response:
        """Create a DRAFT transfer between two warehouses; no stock moves until it ships."""
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        transfer = services.create(
            source_id=data["fromWarehouseId"],
            destination_id=data["toWarehouseId"],
            lines=[services.Line(x["productId"], x["quantity"]) for x in data["lines"]],
            reference=data.get("reference", ""),
            actor=actor_of(request),
        )
        return _answer(transfer, HTTPStatus.CREATED)

    @documented_page(
        "transfers_list",
        item=TransferSerializer,
        filters=FilterSerializer,
        order="Newest first",
        errors=AUTH_ERRORS,
    )
    def get(self, request: Request) -> Response:
        """List transfers, newest first: of a state, from or to a warehouse, or all."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        page, total = services.list_transfers(
            state=data.get("state"),
            warehouse_id=data.get("warehouseId"),
            limit=data["limit"],
            offset=data["offset"],
        )
        return page_response([transfer_body(t) for t in page], total=total)


class TransferApi(StockApi):
    @documented(
        "transfers_retrieve",
        ok=TransferSerializer,
        parameters=[_ID],
        errors={**AUTH_ERRORS, 404: "NOT_FOUND: no such transfer"},
    )
    def get(self, request: Request, transfer_id: str) -> Response:
        """One transfer: its state, its lines (shipped, received, damaged) and its history."""
        return Response(transfer_body(services.get(parse_uuid(transfer_id, name="transferId"))))


_ACTION_ERRORS = {
    **AUTH_ERRORS,
    404: "NOT_FOUND: no such transfer",
    **_KEY_ERRORS,
}


class TransferShipApi(StockApi):
    @documented(
        "transfers_ship",
        ok=TransferSerializer,
        parameters=[_ID, IDEMPOTENCY_KEY],
        errors={
            **_ACTION_ERRORS,
            409: "INSUFFICIENT_STOCK (with `index`, `productId`, `available`): a line has "
            "fewer units available at the source; INVALID_TRANSITION: not a DRAFT",
        },
    )
    @idempotent("transfers.ship", required=True)
    def post(self, request: Request, transfer_id: str) -> Response:
        """Ship a DRAFT: the units leave the source (on hand and available go down) and join
        the destination's incoming, every line or none. Held units never ship."""
        transfer = services.ship(
            parse_uuid(transfer_id, name="transferId"), actor=actor_of(request)
        )
        return _answer(transfer)


class TransferReceiveApi(StockApi):
    @extend_schema_serializer(component_name="TransferReceiptInput")
    class InputSerializer(StrictSerializer):
        class ReceiptLineInputSerializer(StrictSerializer):
            productId = IdField()
            received = _units(min_value=0, help_text="Good units that arrived.")
            damaged = _units(min_value=0, required=False, default=0)

        lines = ReceiptLineInputSerializer(many=True, min_length=1, max_length=services.MAX_LINES)

    @documented(
        "transfers_receive",
        request=InputSerializer,
        ok=TransferSerializer,
        parameters=[_ID, IDEMPOTENCY_KEY],
        errors={
            400: "VALIDATION_ERROR: bad input, a product not on the transfer or listed twice, "
            "a line booking no units",
            **_ACTION_ERRORS,
            409: "RECEIPT_EXCEEDS_SHIPMENT (with `index`, `productId`, `outstanding`): more "
            "than was shipped; INVALID_TRANSITION: not in transit",
        },
    )
    @idempotent("transfers.receive", required=True)
    def post(self, request: Request, transfer_id: str) -> Response:
        """Book arrived units (good, and damaged): good ones go to the destination's confirmed
        preorders first, then its waitlist, then on sale; damaged ones to unsellable. Call it
        again for units that arrive later."""
        transfer_id = parse_uuid(transfer_id, name="transferId")
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        receipts = [
            services.Receipt(x["productId"], x["received"], x["damaged"])
            for x in params.validated_data["lines"]
        ]
        return _answer(services.receive(transfer_id, receipts, actor=actor_of(request)))


class TransferCancelApi(StockApi):
    @documented(
        "transfers_cancel",
        ok=TransferSerializer,
        parameters=[_ID, IDEMPOTENCY_KEY],
        errors={
            **_ACTION_ERRORS,
            409: "INVALID_TRANSITION: units were received already",
        },
    )
    @idempotent("transfers.cancel", required=True)
    def post(self, request: Request, transfer_id: str) -> Response:
        """Cancel a transfer: a DRAFT changes no stock; an in-transit one's units return to the
        source. Cancelling again answers the cancelled transfer."""
        transfer = services.cancel(
            parse_uuid(transfer_id, name="transferId"), actor=actor_of(request)
        )
        return _answer(transfer)
