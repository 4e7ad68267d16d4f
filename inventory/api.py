"""Catalogue API: products with their stock per warehouse, and delivery by pincode."""

import hashlib
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.fields import IdField, StrictSerializer
from core.ids import parse_int_id
from core.links import absolute_url
from core.openapi import documented, documented_page
from core.paging import TOTAL_COUNT_HEADER, PageSerializer
from inventory.delivery import DeliveryQuote, quote_delivery
from inventory.errors import ProductNotFound
from inventory.models import Product
from inventory.selectors import CatalogueFilters, product_detail, product_list


class InventoryOutputSerializer(serializers.Serializer):
    warehouseId = IdField(source="warehouse_id")
    warehouseName = serializers.CharField(source="warehouse.name")
    city = serializers.CharField(source="warehouse.city")
    location = serializers.CharField(source="warehouse.location")
    totalStock = serializers.IntegerField(source="total_stock")
    reservedStock = serializers.IntegerField(source="reserved_stock")
    available = serializers.IntegerField(source="available_units")


class ProductOutputSerializer(serializers.Serializer):
    """A product as the original stockd showed it; give the request in the context."""

    id = IdField()
    sku = serializers.CharField()
    name = serializers.CharField()
    brand = serializers.CharField()
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    description = serializers.CharField()
    image = serializers.SerializerMethodField(help_text="Absolute URL.")
    images = serializers.SerializerMethodField(help_text="Absolute URLs, the main image first.")
    colors = serializers.ListField(child=serializers.CharField())
    size = serializers.CharField()
    boxContents = serializers.CharField(source="box_contents")
    inventory = InventoryOutputSerializer(many=True)
    totalAvailable = serializers.IntegerField(source="total_available")

    def get_image(self, product: Product) -> str | None:
        return absolute_url(self.context["request"], product.image_url)

    def get_images(self, product: Product) -> list[str]:
        image = self.get_image(product)
        return [image] if image else []


class DeliveryOptionSerializer(serializers.Serializer):
    """One warehouse's offer in delivery_body() (for the OpenAPI document)."""

    warehouseId = serializers.CharField()
    warehouseName = serializers.CharField()
    city = serializers.CharField()
    location = serializers.CharField()
    distanceKm = serializers.IntegerField(help_text="Whole kilometres.")
    available = serializers.IntegerField()
    shippingCost = serializers.IntegerField(help_text="Rupees; 0 is free.")
    deliveryDays = serializers.IntegerField(help_text="At the most.")
    deliveryLabel = serializers.CharField()
    isNearest = serializers.BooleanField()
    isRecommended = serializers.BooleanField()


def delivery_body(quote: DeliveryQuote) -> dict[str, Any]:
    """Render a delivery quote as the original stockd's JSON."""
    recommended = quote.recommended_warehouse_id
    return {
        "detectedLocation": {
            "city": quote.place.city,
            "state": quote.place.state,
            "pincode": quote.place.pincode,
        },
        "warehouses": [
            {
                "warehouseId": str(warehouse.id),
                "warehouseName": warehouse.name,
                "city": warehouse.city,
                "location": warehouse.location,
                "distanceKm": option.distance_km,
                "available": option.available,
                "shippingCost": option.shipping.cost,
                "deliveryDays": option.shipping.days,
                "deliveryLabel": option.shipping.label,
                "isNearest": option.is_nearest,
                "isRecommended": option.is_recommended,
            }
            for warehouse, option in quote.options
        ],
        "recommendedWarehouseId": None if recommended is None else str(recommended),
    }


def catalogue_key(request: HttpRequest, media_type: str, query: dict[str, Any]) -> str:
    """The cache key of one catalogue answer. Image URLs are absolute (on the host asked, or
    the proxy's) and the media type's parameters may ask for indentation: both shape it."""
    shape = (request.build_absolute_uri("/"), media_type, sorted(query.items()))
    return "catalogue:" + hashlib.sha256(repr(shape).encode()).hexdigest()


def catalogue_response(answer: tuple[bytes, int], content_type: str) -> HttpResponse:
    """A catalogue answer (its JSON and how many products match in all), as sent."""
    content, total = answer
    response = HttpResponse(content, content_type=content_type)
    response[TOTAL_COUNT_HEADER] = str(total)
    return response


RENDER_WAIT_SECONDS = 1  # how long a request waits for another's rendering of the catalogue


class ProductListApi(APIView):
    class FilterSerializer(PageSerializer):
        category = serializers.CharField(required=False, max_length=60, default="")
        q = serializers.CharField(required=False, max_length=200, default="")

    @documented_page(
        "products_list",
        item=ProductOutputSerializer,
        filters=FilterSerializer,
        order="Products by name, as the original listed them",
    )
    def get(self, request: Request) -> HttpResponse:
        """List active products with stock per warehouse, filtered and optionally sliced.

        The rendered answer is shared through the cache for CATALOGUE_CACHE_SECONDS: a busy
        catalogue is queried and serialized about once a second, not once a request.
        """
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        seconds = settings.CATALOGUE_CACHE_SECONDS
        if seconds:
            key = catalogue_key(request, request.accepted_media_type, query)
            answer = cache.get(key) or self._render_once(request, query, key, seconds)
        else:
            answer = self._render(request, query)
        return catalogue_response(answer, request.accepted_renderer.media_type)

    def _render_once(
        self, request: Request, query: dict[str, Any], key: str, seconds: int
    ) -> tuple[bytes, int]:
        """Render a missing answer in one request while the others that miss it wait for it.

        Without this, every request arriving while an answer renders rendered it too: 64
        clients made the p99 1.4 s each second (docs/performance.md). A request that finds
        another rendering waits up to RENDER_WAIT_SECONDS for its answer, then renders its
        own; with the cache unreachable nobody is seen rendering, so nobody waits.
        """
        rendering = f"{key}:rendering"
        if not cache.add(rendering, True, timeout=RENDER_WAIT_SECONDS * 5):
            deadline = time.monotonic() + RENDER_WAIT_SECONDS
            while time.monotonic() < deadline and cache.get(rendering) is not None:
                time.sleep(0.01)
                answer = cache.get(key)
                if answer is not None:
                    return answer
        answer = self._render(request, query)
        cache.set(key, answer, seconds)
        cache.delete(rendering)
        return answer

    @staticmethod
    def _render(request: Request, query: dict[str, Any]) -> tuple[bytes, int]:
        """The page's JSON as DRF renders it, and how many products match in all."""
        products, total = product_list(
            filters=CatalogueFilters(category=query["category"], search=query["q"]),
            limit=query["limit"],
            offset=query["offset"],
            may_lag=True,  # a public read: the replica may serve it (docs/decisions.md)
        )
        body = ProductOutputSerializer(products, many=True, context={"request": request}).data
        content = request.accepted_renderer.render(
            body, request.accepted_media_type, {"request": request}
        )
        return content, total


class ProductDetailApi(APIView):
    @documented(
        "products_retrieve",
        parameters=[OpenApiParameter("product_id", str, OpenApiParameter.PATH, pattern="^[0-9]+$")],
        ok=ProductOutputSerializer,
        errors={400: "INVALID_ID: not an id", 404: "No such (active) product"},
    )
    def get(self, request: Request, product_id: str) -> Response:
        """Return one active product with stock per warehouse; 404 if there is none."""
        product_id = parse_int_id(product_id, name="productId")
        product = product_detail(product_id=product_id, may_lag=True)  # a public read
        if product is None:
            raise ProductNotFound(f"No product with id {product_id}.")
        return Response(ProductOutputSerializer(product, context={"request": request}).data)


class DetectWarehouseApi(APIView):
    """The original's "check delivery": where a product ships from to a pincode, at what cost."""

    @extend_schema_serializer(component_name="DeliveryCheckInput")
    class InputSerializer(StrictSerializer):
        pincode = serializers.CharField(max_length=12, help_text="A 6-digit Indian pincode.")
        productId = IdField()

    @extend_schema_serializer(component_name="DeliveryQuote")
    class OutputSerializer(serializers.Serializer):
        detectedLocation = inline_serializer(
            "DetectedLocation",
            {
                "city": serializers.CharField(),
                "state": serializers.CharField(),
                "pincode": serializers.CharField(),
            },
        )
        warehouses = DeliveryOptionSerializer(many=True)
        recommendedWarehouseId = serializers.CharField(allow_null=True)

    @documented(
        "detect_warehouse",
        request=InputSerializer,
        ok=OutputSerializer,
        errors={
            400: "Bad input (a field missing or of the wrong type)",
            404: "No such product",
            422: "PINCODE_NOT_SERVICEABLE: malformed or unknown pincode",
        },
    )
    def post(self, request: Request) -> Response:
        """Quote delivery of a product to a pincode from every warehouse, nearest first."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quote = quote_delivery(
            product_id=data.validated_data["productId"], pincode=data.validated_data["pincode"]
        )
        return Response(delivery_body(quote))
