"""Catalogue API: products with their stock per warehouse."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.ids import parse_int_id
from core.paging import PageSerializer, page_response
from inventory.errors import ProductNotFound
from inventory.selectors import CatalogueFilters, product_detail, product_list


class InventoryOutputSerializer(serializers.Serializer):
    warehouseId = serializers.IntegerField(source="warehouse_id")
    warehouseName = serializers.CharField(source="warehouse.name")
    city = serializers.CharField(source="warehouse.city")
    totalStock = serializers.IntegerField(source="total_stock")
    reservedStock = serializers.IntegerField(source="reserved_stock")
    available = serializers.IntegerField(source="available_units")


class ProductOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    brand = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    description = serializers.CharField()
    image = serializers.CharField(source="image_url", allow_null=True, read_only=True)
    inventory = InventoryOutputSerializer(many=True)
    totalAvailable = serializers.IntegerField(source="total_available")


class ProductListApi(APIView):
    class FilterSerializer(PageSerializer):
        category = serializers.CharField(required=False, max_length=60, default="")
        q = serializers.CharField(required=False, max_length=200, default="")

    @extend_schema(
        operation_id="products_list",
        parameters=[FilterSerializer],
        responses={
            200: OpenApiResponse(
                ProductOutputSerializer(many=True),
                description="Products in catalogue order (category, name). "
                "The X-Total-Count header holds the number matching the filters.",
            )
        },
    )
    def get(self, request: Request) -> Response:
        """List active products with stock per warehouse, filtered and optionally sliced."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        products, total = product_list(
            filters=CatalogueFilters(category=query["category"], search=query["q"]),
            limit=query["limit"],
            offset=query["offset"],
        )
        return page_response(ProductOutputSerializer(products, many=True).data, total=total)


class ProductDetailApi(APIView):
    @extend_schema(
        operation_id="products_retrieve",
        parameters=[OpenApiParameter("product_id", int, OpenApiParameter.PATH)],
        responses={200: ProductOutputSerializer},
    )
    def get(self, request: Request, product_id: str) -> Response:
        """Return one active product with stock per warehouse; 404 if there is none."""
        product = product_detail(product_id=parse_int_id(product_id, name="productId"))
        if product is None:
            raise ProductNotFound(f"No product with id {product_id}.")
        return Response(ProductOutputSerializer(product).data)
