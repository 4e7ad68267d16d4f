"""A stock row's preorder terms over the API (scope stock:read to read, stock:write to set; or
staff): `GET` and `PUT /api/stock/preorders/{productId}/{warehouseId}`. Shoppers place
preorders with `POST /api/reservations` and `"preorder": true`."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import StrictIntegerField, StrictSerializer
from core.openapi import documented
from idempotency.decorators import REQUIRED_OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from idempotency.decorators import idempotent
from integrations.stock_api import AUTH_ERRORS, ROW_NOT_FOUND, StockApi, row_key
from reservations.services import preorders
from reservations.services.stock_states import MAX_UNITS


class PreorderTermsSerializer(serializers.Serializer):
    productId = serializers.CharField()
    warehouseId = serializers.CharField()
    limit = serializers.IntegerField(
        allow_null=True, help_text="Units that may be preordered; null: preorders are off."
    )
    eta = serializers.DateField(allow_null=True, help_text="When the units are expected.")
    placed = serializers.IntegerField(help_text="Units preordered and not served yet.")
    remaining = serializers.IntegerField(
        help_text="Units shoppers may still preorder: the limit and incoming, less placed."
    )
    incoming = serializers.IntegerField(help_text="Units the row expects.")
    available = serializers.IntegerField(help_text="Preorders are taken only while this is 0.")


def _body(key: tuple[int, int], offer: preorders.Offer) -> dict:
    return {
        "productId": str(key[0]),
        "warehouseId": str(key[1]),
        "limit": offer.limit,
        "eta": offer.eta,
        "placed": offer.placed,
        "remaining": offer.remaining,
        "incoming": offer.incoming,
        "available": offer.available,
    }


class PreorderTermsApi(StockApi):
    @extend_schema_serializer(component_name="PreorderTermsInput")
    class InputSerializer(StrictSerializer):
        limit = StrictIntegerField(
            min_value=1, max_value=MAX_UNITS, allow_null=True, help_text="null turns them off."
        )
        eta = serializers.DateField(required=False, allow_null=True, default=None)

    @documented(
        "stock_preorders_retrieve",
        ok=PreorderTermsSerializer,
        errors={**AUTH_ERRORS, **ROW_NOT_FOUND},
    )
    def get(self, request: Request, product_id: str, warehouse_id: str) -> Response:
        """A stock row's preorder terms, with the places taken and left."""
        key = row_key(product_id, warehouse_id)
        return Response(_body(key, preorders.offer_of(key)))

    @documented(
        "stock_preorders_set",
        request=InputSerializer,
        ok=PreorderTermsSerializer,
        parameters=[IDEMPOTENCY_KEY],
        errors={
            400: "VALIDATION_ERROR",
            **AUTH_ERRORS,
            **ROW_NOT_FOUND,
            428: "IDEMPOTENCY_KEY_REQUIRED: no Idempotency-Key header.",
        },
    )
    @idempotent("stock.preorders", required=True)
    def put(self, request: Request, product_id: str, warehouse_id: str) -> Response:
        """Turn a row's preorders on, with a limit in units and an expected date, or off
        (limit null). Open preorders keep their places either way and follow a new eta."""
        key = row_key(product_id, warehouse_id)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return Response(_body(key, preorders.set_terms(key, limit=data["limit"], eta=data["eta"])))
