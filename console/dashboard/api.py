"""The staff API's figures at the original's GET /api/admin/stats."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from console.api import StaffApi
from console.dashboard import selectors
from core.openapi import documented


class StatsApi(StaffApi):
    """Return totals, holds per day for the last 7 days and the most reserved products."""

    @extend_schema_serializer(component_name="AdminStats")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="AdminStatsTotals")
        class TotalsSerializer(serializers.Serializer):
            products = serializers.IntegerField()
            warehouses = serializers.IntegerField()
            reservations = serializers.IntegerField()
            pending = serializers.IntegerField()
            confirmed = serializers.IntegerField()
            released = serializers.IntegerField()
            waitlist = serializers.IntegerField()
            totalStock = serializers.IntegerField()  # noqa: N815 (the original's names)
            reservedStock = serializers.IntegerField()  # noqa: N815

        @extend_schema_serializer(component_name="AdminStatsDay")
        class DaySerializer(serializers.Serializer):
            date = serializers.CharField()
            confirmed = serializers.IntegerField()
            released = serializers.IntegerField()
            pending = serializers.IntegerField()

        @extend_schema_serializer(component_name="AdminTopProduct")
        class TopProductSerializer(serializers.Serializer):
            id = serializers.CharField(source="product_id")
            name = serializers.CharField(source="product__name")
            category = serializers.CharField(source="product__category")
            reservations = serializers.IntegerField()

        totals = TotalsSerializer()
        chart = DaySerializer(many=True)
        topProducts = TopProductSerializer(many=True, source="top_products")  # noqa: N815

    @documented("admin_stats", ok=OutputSerializer, errors={401: "Not signed in", 403: "Not staff"})
    def get(self, request):
        return Response(self.OutputSerializer(selectors.stats()).data)
