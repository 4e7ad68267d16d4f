"""Warehouse API."""

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField
from core.serving.replicas import database_for
from warehouses.models import Warehouse


class WarehouseListApi(APIView):
    @extend_schema_serializer(component_name="Warehouse")
    class OutputSerializer(serializers.Serializer):
        id = IdField()
        code = serializers.CharField()
        name = serializers.CharField()
        location = serializers.CharField()
        city = serializers.CharField()
        lat = serializers.FloatField()
        lng = serializers.FloatField()
        createdAt = serializers.DateTimeField(source="created_at")

    @extend_schema(operation_id="warehouses_list", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """List the active warehouses by name, as the original did."""
        # A public read: the replica may serve it (docs/decisions.md).
        warehouses = (
            Warehouse.objects.active().order_by("name", "id").using(database_for(may_lag=True))
        )
        return Response(self.OutputSerializer(warehouses, many=True).data)
