"""`GET /api/admin/logs`: the audit log for staff scripts, newest first, paged and filtered."""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import StaffApi
from console.events.selectors import EventFilters, filtered_events
from core.fields import IdField
from core.openapi import documented_page
from core.paging import PageSerializer, page_response
from reservations.models import ReservationEvent

# The original's event names for stockd's types; a type it had no name for keeps its own.
ORIGINAL_NAMES = {
    ReservationEvent.Type.RESERVED: "CREATED",
    ReservationEvent.Type.CONFIRMED: "CONFIRMED",
    ReservationEvent.Type.RELEASED: "RELEASED",
    ReservationEvent.Type.EXPIRED: "EXPIRED",
    ReservationEvent.Type.WAITLIST_PROMOTED: "WAITLIST_PROMOTED",
}
ORIGINAL_LIMIT = 200  # the original answered the newest 200 events, unpaged


def original_name(event: ReservationEvent) -> str:
    """The original's name for `event`: units added by staff were its STOCK_ADDED."""
    if event.type == ReservationEvent.Type.STOCK_ADJUSTED and (event.quantity or 0) > 0:
        return "STOCK_ADDED"
    return ORIGINAL_NAMES.get(event.type, event.type)


def event_body(event: ReservationEvent) -> dict[str, Any]:
    """An event as the staff API answers it, ids as strings: stockd's fields, and the
    original's (`event`, `metadata`, `reservation` with its product and warehouse)."""
    product, warehouse = event.product, event.warehouse
    reservation_id = str(event.reservation_id) if event.reservation_id else None
    return {
        "id": str(event.id),
        "type": event.type,
        "productId": str(event.product_id),
        "warehouseId": str(event.warehouse_id),
        "quantity": event.quantity,
        "reservationId": reservation_id,
        "actor": event.actor,
        "payload": event.payload,
        "createdAt": event.created_at,
        "event": original_name(event),
        "metadata": event.payload,
        "reservation": {
            "id": reservation_id,
            "quantity": event.quantity,
            "product": {
                "id": str(product.id),
                "name": product.name,
                "category": product.category,
                "sku": product.sku,
            },
            "warehouse": {
                "id": str(warehouse.id),
                "name": warehouse.name,
                "city": warehouse.city,
                "code": warehouse.code,
            },
        },
    }


_PRODUCT = inline_serializer(
    "AdminLogProduct",
    {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "category": serializers.CharField(),
        "sku": serializers.CharField(),
    },
)
_WAREHOUSE = inline_serializer(
    "AdminLogWarehouse",
    {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "city": serializers.CharField(),
        "code": serializers.CharField(),
    },
)


@extend_schema_serializer(component_name="AdminLogEvent")
class EventOutputSerializer(serializers.Serializer):
    """Documents `event_body` for OpenAPI; the body itself is built by hand."""

    id = serializers.CharField(help_text="The event's id; ids only grow.")
    type = serializers.ChoiceField(choices=ReservationEvent.Type.choices)
    productId = serializers.CharField()
    warehouseId = serializers.CharField()
    quantity = serializers.IntegerField(allow_null=True)
    reservationId = serializers.UUIDField(allow_null=True)
    actor = serializers.CharField(help_text='"user:<id>", "anonymous" or "system:<job>".')
    payload = serializers.DictField()
    createdAt = serializers.DateTimeField()
    event = serializers.CharField(
        help_text="The original's name: CREATED, CONFIRMED, RELEASED, EXPIRED, "
        "WAITLIST_PROMOTED, STOCK_ADDED (units added); other types keep their own."
    )
    metadata = serializers.DictField(help_text="The original's name for `payload`.")
    reservation = inline_serializer(
        "AdminLogReservation",
        {
            "id": serializers.UUIDField(allow_null=True),
            "quantity": serializers.IntegerField(allow_null=True),
            "product": _PRODUCT,
            "warehouse": _WAREHOUSE,
        },
        help_text="As the original's event row with its reservation: its hold (id null for "
        "an event of no hold), product and warehouse.",
    )


class LogListApi(StaffApi):
    class FilterSerializer(PageSerializer):
        default_limit = ORIGINAL_LIMIT

        type = serializers.ChoiceField(required=False, choices=ReservationEvent.Type.choices)
        productId = IdField(required=False)
        warehouseId = IdField(required=False)
        actor = serializers.CharField(
            required=False,
            max_length=64,
            help_text='"system" also matches "system:sweep"; "user:1" only itself.',
        )
        since = serializers.DateTimeField(required=False, help_text="From this time, inclusive.")
        until = serializers.DateTimeField(required=False, help_text="Before this time.")

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            data = super().validate(data)
            if "since" in data and "until" in data and data["until"] < data["since"]:
                raise serializers.ValidationError({"until": ["Must not be before since."]})
            return data

    @documented_page(
        "admin_logs_list",
        item=EventOutputSerializer,
        filters=FilterSerializer,
        order="Newest first",
        errors={400: "Bad filters", 401: "Not signed in", 403: "Not staff"},
    )
    def get(self, request: Request) -> Response:
        """List the audit log newest first, filtered by type, product, warehouse, actor and
        time."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        given = params.validated_data
        filters = EventFilters(
            type=given.get("type", ""),
            product_id=given.get("productId"),
            warehouse_id=given.get("warehouseId"),
            actor=given.get("actor", ""),
            since=given.get("since"),
            until=given.get("until"),
        )
        events = filtered_events(filters).select_related("product", "warehouse")
        offset, limit = given["offset"], given["limit"]
        page = events[offset : offset + limit]
        return page_response([event_body(e) for e in page], total=events.count())
