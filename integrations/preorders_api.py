"""A stock row's preorder terms over the API (scope stock:read to read, stock:write to set; or
staff): `GET` and `PUT /api/stock/preorders/{productId}/{warehouseId}`. Shoppers place
preorders with `POST /api/reservations` and `"preorder": true`."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import StrictIntegerField, StrictSerializer
from core.ids import parse_int_id
from core.openapi import documented
from idempotency.decorators import REQUIRED_OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from idempotency.decorators import idempotent
from integrations.stock_api import StockApi
from reservations.services import preorders
from reservations.services.stock_states import MAX_UNITS

_AUTH_ERRORS = {
    401: "NOT_AUTHENTICATED: no key or session, or a revoked or unknown key.",
    403: "FORBIDDEN: the key lacks the scope, the user is not staff, or a cross-site write.",
}
_NOT_FOUND = {404: "NOT_FOUND: the product is not stocked in that warehouse."}


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


def _key(product_id: str, warehouse_id: str) -> tuple[int, int]:
    return (
        parse_int_id(product_id, name="productId"),
        parse_int_id(warehouse_id, name="warehouseId"),
    )


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
        errors={**_AUTH_ERRORS, **_NOT_FOUND},
    )
    def get(self, request: Request, product_id: str, warehouse_id: str) -> Response:
        """A stock row's preorder terms, with the places taken and left."""
        key = _key(product_id, warehouse_id)
        return Response(_body(key, preorders.offer_of(key)))

    @documented(
        "stock_preorders_set",
        request=InputSerializer,
        ok=PreorderTermsSerializer,
        parameters=[IDEMPOTENCY_KEY],
        errors={
            400: "VALIDATION_ERROR",
            **_AUTH_ERRORS,
            **_NOT_FOUND,
            428: "IDEMPOTENCY_KEY_REQUIRED: no Idempotency-Key header.",
        },
    )
    @idempotent("stock.preorders", required=True)
    def put(self, request: Request, product_id: str, warehouse_id: str) -> Response:
        """Turn a row's preorders on, with a limit in units and an expected date, or off
        (limit null). Open preorders keep their places either way and follow a new eta."""
        key = _key(product_id, warehouse_id)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return Response(_body(key, preorders.set_terms(key, limit=data["limit"], eta=data["eta"])))
