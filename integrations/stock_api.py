"""The stock API for integrations: levels, adjustments, compare-and-set, and the ledger.

Callers send an API key (`Authorization: Bearer <key>`, scope stock:read or stock:write) or
are staff signed in to the console. Every write requires an Idempotency-Key.
"""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.cross_origin import OriginCheckedSession
from core.fields import IdField, StrictIntegerField, StrictSerializer
from core.ids import parse_int_id
from core.openapi import documented, documented_page
from core.paging import PageSerializer, page_response
from idempotency.decorators import REQUIRED_OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from idempotency.decorators import idempotent
from integrations.authentication import ApiKeyAuthentication, HasScope, actor_of
from integrations.models import ApiKey
from inventory.levels import API_NAMES, level_of
from inventory.selectors import ledger_page, stock_levels
from reservations.services.stock_states import (
    MAX_UNITS,
    WRITABLE_REASONS,
    WRITABLE_STATES,
    Adjustment,
    adjust_states,
    set_states,
)

MAX_ITEMS = 10_000
# Every state by its API name (as ledger entries show them), and those integrations may write.
ALL_STATE_NAMES = {name: state for state, name in API_NAMES.items()}
STATE_NAMES = {name: state for name, state in ALL_STATE_NAMES.items() if state in WRITABLE_STATES}


class StockLevelSerializer(serializers.Serializer):
    """The documented shape of inventory.levels.level_of's answer."""

    productId = serializers.CharField()
    warehouseId = serializers.CharField()
    onHand = serializers.IntegerField(help_text="Physical units.")
    held = serializers.IntegerField(help_text="Units in live holds.")
    safety = serializers.IntegerField(help_text="A buffer never offered to shoppers.")
    unsellable = serializers.IntegerField(help_text="Damaged or on quality hold.")
    incoming = serializers.IntegerField(help_text="Expected, not yet on hand.")
    available = serializers.IntegerField(
        help_text="onHand - held - safety - unsellable: what shoppers may hold."
    )
    version = serializers.IntegerField(
        help_text="The sequence number of the row's last ledger entry."
    )


class StockStatesSerializer(serializers.Serializer):
    onHand = serializers.IntegerField()
    held = serializers.IntegerField()
    safety = serializers.IntegerField()
    unsellable = serializers.IntegerField()
    incoming = serializers.IntegerField()


class StockLedgerEntrySerializer(serializers.Serializer):
    sequence = serializers.IntegerField(help_text="1, 2, 3 ... per stock row, without gaps.")
    reason = serializers.CharField()
    delta = StockStatesSerializer(help_text="What the entry changed, per state.")
    after = StockStatesSerializer(help_text="The row's states once it applied.")
    actor = serializers.CharField(help_text='"key:<prefix>", "user:<id>", "anonymous", ...')
    reference = serializers.CharField()
    requestId = serializers.CharField()
    idempotencyKey = serializers.CharField()
    createdAt = serializers.DateTimeField()


class StockLedgerPageSerializer(serializers.Serializer):
    entries = StockLedgerEntrySerializer(many=True)
    next = serializers.CharField(
        help_text="Pass as `after` to read on (the same cursor when nothing is new)."
    )
    more = serializers.BooleanField(help_text="Whether more entries follow now.")


class StockAdjustedSerializer(serializers.Serializer):
    levels = StockLevelSerializer(many=True, help_text="Each adjusted row once, as it is now.")


_REFUSED = "INSUFFICIENT_STOCK (with `level`, the row now): a state or available would go below 0"


class StockApi(APIView):
    """An endpoint of the stock API: API keys with the scope, or staff sessions."""

    authentication_classes = [ApiKeyAuthentication, OriginCheckedSession]
    permission_classes = [HasScope]
    read_scope = ApiKey.Scope.STOCK_READ
    write_scope = ApiKey.Scope.STOCK_WRITE


AUTH_ERRORS = {
    401: "NOT_AUTHENTICATED: no key or session, or a revoked or unknown key.",
    403: "FORBIDDEN: the key lacks the scope (stock:read to read, stock:write to write), the "
    "user is not staff, or a cross-site write.",
}
ROW_NOT_FOUND = {404: "NOT_FOUND: the product is not stocked in that warehouse."}


def row_key(product_id: str, warehouse_id: str) -> tuple[int, int]:
    """The stock row a path names (`/{productId}/{warehouseId}`); a malformed id is a 400."""
    return (
        parse_int_id(product_id, name="productId"),
        parse_int_id(warehouse_id, name="warehouseId"),
    )


class StockLevelsApi(StockApi):
    class FilterSerializer(PageSerializer):
        default_limit = 200
        productId = IdField(required=False)
        warehouseId = IdField(required=False)

    @documented_page(
        "stock_levels_list",
        item=StockLevelSerializer,
        filters=FilterSerializer,
        order="By product, then warehouse",
        errors=AUTH_ERRORS,
    )
    def get(self, request: Request) -> Response:
        """Every quantity state of the stock rows (of a product, a warehouse, or one row),
        with available and version."""
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        rows = stock_levels(product_id=data.get("productId"), warehouse_id=data.get("warehouseId"))
        total = rows.count()
        page = rows[data["offset"] : data["offset"] + data["limit"]]
        return page_response([level_of(row) for row in page], total=total)


class StockLevelApi(StockApi):
    @extend_schema_serializer(component_name="StockLevelInput")
    class InputSerializer(StrictSerializer):
        onHand = StrictIntegerField(min_value=0, max_value=MAX_UNITS, required=False)
        safety = StrictIntegerField(min_value=0, max_value=MAX_UNITS, required=False)
        unsellable = StrictIntegerField(min_value=0, max_value=MAX_UNITS, required=False)
        incoming = StrictIntegerField(min_value=0, max_value=MAX_UNITS, required=False)
        expectedVersion = StrictIntegerField(min_value=0)
        reference = serializers.CharField(required=False, allow_blank=True, max_length=200)

        def validate(self, data: dict) -> dict:
            if not set(data) & set(STATE_NAMES):
                raise serializers.ValidationError(f"Send at least one of {', '.join(STATE_NAMES)}.")
            return data

    @documented(
        "stock_level_set",
        request=InputSerializer,
        ok=StockLevelSerializer,
        parameters=[IDEMPOTENCY_KEY],
        errors={
            **AUTH_ERRORS,
            **ROW_NOT_FOUND,
            409: "STALE_VERSION (with `level`): the row is past expectedVersion; " + _REFUSED,
            428: "IDEMPOTENCY_KEY_REQUIRED: no Idempotency-Key header.",
        },
    )
    @idempotent("stock.set", required=True)
    def put(self, request: Request, product_id: str, warehouse_id: str) -> Response:
        """Set some of a row's states if it is still at expectedVersion (compare-and-set):
        one COUNTED ledger entry; a stale version changes nothing."""
        key = row_key(product_id, warehouse_id)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        row = set_states(
            key,
            {STATE_NAMES[name]: data[name] for name in STATE_NAMES if name in data},
            expected_version=data["expectedVersion"],
            actor=actor_of(request),
            reference=data.get("reference", ""),
        )
        return Response(level_of(row))


class AdjustmentSerializer(StrictSerializer):
    productId = IdField()
    warehouseId = IdField()
    state = serializers.ChoiceField(choices=list(STATE_NAMES))
    delta = StrictIntegerField(min_value=-MAX_UNITS, max_value=MAX_UNITS)
    reason = serializers.ChoiceField(choices=[str(r) for r in WRITABLE_REASONS])
    reference = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate_delta(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("A delta of 0 changes nothing.")
        return value


class AdjustmentsSerializer(StrictSerializer):
    items = AdjustmentSerializer(many=True, min_length=1, max_length=MAX_ITEMS)


class StockAdjustmentsApi(StockApi):
    @documented(
        "stock_adjustments_create",
        request=AdjustmentSerializer,
        ok=StockAdjustedSerializer,
        parameters=[IDEMPOTENCY_KEY],
        errors={
            **AUTH_ERRORS,
            404: "NOT_FOUND (with `index`): an item's product is not stocked in its warehouse.",
            409: _REFUSED + ", naming the item's `index`; nothing is changed.",
            428: "IDEMPOTENCY_KEY_REQUIRED: no Idempotency-Key header.",
        },
        summary="Adjust one state of a row, or of up to 10,000 rows ({items: [...]}) at once",
    )
    @idempotent("stock.adjust", required=True)
    def post(self, request: Request) -> Response:
        """Add a delta to one state (onHand, safety, unsellable or incoming) of a row, with a
        reason; or send {"items": [...]} to make up to 10,000 adjustments, all or none."""
        many = isinstance(request.data, dict) and "items" in request.data
        params = (AdjustmentsSerializer if many else AdjustmentSerializer)(data=request.data)
        params.is_valid(raise_exception=True)
        items = params.validated_data["items"] if many else [params.validated_data]
        rows = adjust_states(
            [
                Adjustment(
                    product_id=item["productId"],
                    warehouse_id=item["warehouseId"],
                    state=STATE_NAMES[item["state"]],
                    delta=item["delta"],
                    reason=item["reason"],
                    reference=item.get("reference", ""),
                )
                for item in items
            ],
            actor=actor_of(request),
        )
        return Response({"levels": [level_of(row) for row in rows]})


class LedgerFilterSerializer(serializers.Serializer):
    productId = IdField()
    warehouseId = IdField()
    after = serializers.IntegerField(
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        default=0,
        help_text="The cursor: the sequence number to read after.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


def _entry(entry) -> dict:
    """A ledger entry as the API shows it."""
    return {
        "sequence": entry.sequence,
        "reason": entry.reason,
        "delta": {name: getattr(entry, state) for name, state in ALL_STATE_NAMES.items()},
        "after": {
            name: getattr(entry, f"{state}_after") for name, state in ALL_STATE_NAMES.items()
        },
        "actor": entry.actor,
        "reference": entry.reference,
        "requestId": entry.request_id,
        "idempotencyKey": entry.idempotency_key,
        "createdAt": entry.created_at,
    }


class StockLedgerApi(StockApi):
    @documented(
        "stock_ledger_list",
        ok=StockLedgerPageSerializer,
        parameters=[LedgerFilterSerializer],
        errors={**AUTH_ERRORS, **ROW_NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        """One row's ledger in sequence order, after the `after` cursor."""
        params = LedgerFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        key = (data["productId"], data["warehouseId"])
        entries, more = ledger_page(key, after=data["after"], limit=data["limit"])
        cursor = entries[-1].sequence if entries else data["after"]
        return Response(
            {"entries": [_entry(entry) for entry in entries], "next": str(cursor), "more": more}
        )
