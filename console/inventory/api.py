"""The staff JSON API of stock rows: list them, and set one's total (compare-and-set)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import StaffApi
from core.fields import IdField, StrictIntegerField, StrictSerializer
from core.openapi import documented
from inventory.errors import StockNotFound
from inventory.selectors import StaffStockFilters, staff_stock_rows
from reservations.access import actor_for
from reservations.services.stock import set_total


@extend_schema_serializer(component_name="AdminInventoryRow")
class InventoryRowSerializer(serializers.Serializer):
    """A stock row as the original's panel read it, plus its sku, code and alert level."""

    id = IdField()
    productId = IdField(source="product_id")
    productName = serializers.CharField(source="product.name")
    sku = serializers.CharField(source="product.sku")
    category = serializers.CharField(source="product.category")
    warehouseId = IdField(source="warehouse_id")
    warehouseName = serializers.CharField(source="warehouse.name")
    warehouseCode = serializers.CharField(source="warehouse.code")
    city = serializers.CharField(source="warehouse.city")
    totalStock = serializers.IntegerField(source="total_stock")
    reservedStock = serializers.IntegerField(source="reserved_stock")
    safetyStock = serializers.IntegerField(source="safety_stock")
    unsellableStock = serializers.IntegerField(source="unsellable_stock")
    incomingStock = serializers.IntegerField(source="incoming_stock")
    available = serializers.IntegerField(source="available_units")
    alertAt = serializers.IntegerField(source="alert_at")
    isLow = serializers.BooleanField(source="stock_low")


class InventoryApi(StaffApi):
    class InputSerializer(StrictSerializer):
        inventoryId = IdField()
        totalStock = StrictIntegerField(min_value=0, max_value=1_000_000)
        expectedTotalStock = StrictIntegerField(min_value=0, required=False, allow_null=True)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=200)

    @documented(
        "admin_inventory_list",
        ok=InventoryRowSerializer(many=True),
        errors={401: "Not signed in.", 403: "Not staff."},
    )
    def get(self, request: Request) -> Response:
        """List every stock row by product name, then warehouse."""
        rows = staff_stock_rows(filters=StaffStockFilters())
        return Response(InventoryRowSerializer(rows, many=True).data)

    @documented(
        "admin_inventory_set_total",
        request=InputSerializer,
        ok=InventoryRowSerializer,
        errors={
            400: "VALIDATION_ERROR: the body is malformed.",
            401: "Not signed in.",
            403: "Not staff, or a cross-site or non-JSON request.",
            404: "NOT_FOUND: no such stock row.",
            409: "STALE_TOTAL (with currentTotalStock and reservedStock): the total changed "
            "since expectedTotalStock was read; STOCK_BELOW_RESERVED (with the same two): below "
            "the held units.",
        },
    )
    def patch(self, request: Request) -> Response:
        """Set a row's total if it still is expectedTotalStock: 409 with the current figure if
        not, 409 below the held units, 404 for an unknown row; nothing is written then."""
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        set_total(
            inventory_id=data["inventoryId"],
            total=data["totalStock"],
            expected_total=data.get("expectedTotalStock"),
            reason=data.get("reason", ""),
            actor=actor_for(request.user),
        )
        row = staff_stock_rows(filters=StaffStockFilters()).filter(pk=data["inventoryId"]).first()
        if row is None:  # deleted meanwhile
            raise StockNotFound()
        return Response(InventoryRowSerializer(row).data)
