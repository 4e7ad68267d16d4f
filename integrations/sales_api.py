"""The staff API of flash sales (scope `policies`, or staff): product sale policies, sales
channels with their keys, and channels' allocations. The services are sales.services'; the
public `GET /api/availability` is integrations.availability_api.
"""

from http import HTTPStatus

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import IdField, StrictBooleanField, StrictIntegerField, StrictSerializer
from core.ids import parse_int_id
from core.openapi import documented
from integrations.authentication import KeyHolder
from integrations.keys import open_channel
from integrations.models import ApiKey
from integrations.stock_api import StockApi
from reservations.services.stock_states import MAX_UNITS
from sales import services
from sales.models import MAX_EXTENSIONS, Allocation, Channel, SalePolicy

MAX_HOLD_SECONDS = 30 * 24 * 3600
# The API's name of each policy field, and the model's.
POLICY_NAMES = {
    "saleStartsAt": "sale_starts_at",
    "saleEndsAt": "sale_ends_at",
    "limitPerCustomer": "limit_per_customer",
    "requiresAccount": "requires_account",
    "holdSeconds": "hold_seconds",
    "holdSecondsSignedIn": "hold_seconds_signed_in",
    "maxExtensions": "max_extensions",
}
ALLOCATION_NAMES = {
    "quota": "quota",
    "buffer": "buffer",
    "bufferPercent": "buffer_percent",
    "floor": "floor",
}

_AUTH_ERRORS = {
    401: "NOT_AUTHENTICATED: no key or session, or a revoked or unknown key.",
    403: "FORBIDDEN: the key lacks the `policies` scope, the user is not staff, or a "
    "cross-site write.",
}
_PRODUCT_ID = OpenApiParameter("product_id", str, OpenApiParameter.PATH, pattern="^[0-9]+$")


class SalesApi(StockApi):
    """An endpoint of the sales staff API: API keys with scope `policies`, or staff sessions."""

    read_scope = write_scope = ApiKey.Scope.POLICIES


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its UTC offset; one without an offset is refused (the
    server's zone would be a guess)."""

    default_error_messages = {
        "naive": "Give the time with its offset: 2026-05-01T10:00:00+05:30, or ...Z for UTC."
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:  # shaped like one, but no such date: the field says invalid
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)


def _count(*, minimum: int = 0, maximum: int = MAX_UNITS, **kwargs) -> StrictIntegerField:
    """A nullable count: null clears the rule."""
    return StrictIntegerField(
        min_value=minimum, max_value=maximum, required=False, allow_null=True, **kwargs
    )


class ChannelParamSerializer(serializers.Serializer):
    channel = serializers.CharField(
        required=False,
        max_length=32,
        help_text="A channel's code: its own override of the product's policy.",
    )


def _channel_param(request: Request) -> str | None:
    params = ChannelParamSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data.get("channel")


# --- policies ---------------------------------------------------------------------------------


class PolicySerializer(serializers.Serializer):
    productId = serializers.CharField()
    channel = serializers.CharField(
        allow_null=True, help_text="null: the product's policy for every channel."
    )
    saleStartsAt = serializers.DateTimeField(allow_null=True)
    saleEndsAt = serializers.DateTimeField(allow_null=True)
    limitPerCustomer = serializers.IntegerField(allow_null=True)
    requiresAccount = serializers.BooleanField(allow_null=True)
    holdSeconds = serializers.IntegerField(allow_null=True)
    holdSecondsSignedIn = serializers.IntegerField(allow_null=True)
    maxExtensions = serializers.IntegerField(allow_null=True)
    updatedAt = serializers.DateTimeField(allow_null=True, help_text="null: none is set.")


def _policy(policy: SalePolicy) -> dict:
    return {
        "productId": str(policy.product_id),
        "channel": None if policy.channel is None else policy.channel.code,
        **{name: getattr(policy, field) for name, field in POLICY_NAMES.items()},
        "updatedAt": policy.updated_at if policy.pk else None,
    }


_POLICY_ERRORS = {
    **_AUTH_ERRORS,
    404: "NOT_FOUND: no such product, or no such channel.",
}


class PolicyApi(SalesApi):
    @extend_schema_serializer(component_name="PolicyInput")
    class InputSerializer(StrictSerializer):
        saleStartsAt = AwareDateTimeField(required=False, allow_null=True)
        saleEndsAt = AwareDateTimeField(required=False, allow_null=True)
        limitPerCustomer = _count(minimum=1, help_text="Units one customer may hold.")
        requiresAccount = StrictBooleanField(required=False, allow_null=True)
        holdSeconds = _count(minimum=1, maximum=MAX_HOLD_SECONDS)
        holdSecondsSignedIn = _count(minimum=1, maximum=MAX_HOLD_SECONDS)
        maxExtensions = _count(maximum=MAX_EXTENSIONS)

        def validate(self, data: dict) -> dict:
            starts, ends = data.get("saleStartsAt"), data.get("saleEndsAt")
            if starts is not None and ends is not None and ends <= starts:
                raise serializers.ValidationError({"saleEndsAt": ["Must be after saleStartsAt."]})
            return data

    @documented(
        "policy_read",
        ok=PolicySerializer,
        parameters=[_PRODUCT_ID, ChannelParamSerializer],
        errors=_POLICY_ERRORS,
    )
    def get(self, request: Request, product_id: str) -> Response:
        """A product's sale policy (a channel's own override, with `channel`); every field
        null when none is set."""
        product_id = parse_int_id(product_id, name="productId")
        policy = services.policy_of(product_id, channel_code=_channel_param(request))
        return Response(_policy(policy))

    @documented(
        "policy_set",
        request=InputSerializer,
        ok=PolicySerializer,
        parameters=[_PRODUCT_ID, ChannelParamSerializer],
        errors=_POLICY_ERRORS,
    )
    def put(self, request: Request, product_id: str) -> Response:
        """Set the fields sent of a product's sale policy (null clears one, a field not sent
        is kept); bad input changes nothing. A policy left empty is removed."""
        product_id = parse_int_id(product_id, name="productId")
        channel_code = _channel_param(request)
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        changes = {POLICY_NAMES[name]: value for name, value in params.validated_data.items()}
        policy = services.set_policy(product_id, changes, channel_code=channel_code)
        return Response(_policy(policy))


# --- channels ---------------------------------------------------------------------------------


class ChannelSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    createdAt = serializers.DateTimeField()
    keyPrefixes = serializers.ListField(
        child=serializers.CharField(), help_text="The prefixes of its active keys, oldest first."
    )


class NewChannelSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    apiKey = serializers.CharField(
        help_text="The channel's key (scope `holds`): its holds belong to the channel. Shown "
        "only here."
    )


class ChannelsApi(SalesApi):
    @extend_schema_serializer(component_name="ChannelInput")
    class InputSerializer(StrictSerializer):
        code = serializers.RegexField(
            rf"^{services.CHANNEL_CODE.pattern}$",
            max_length=services.CHANNEL_CODE_LENGTH,
            help_text='Lowercase letters and digits, words joined by "-" or "_".',
            error_messages={"invalid": 'A slug is required: lowercase words joined by "-".'},
        )
        name = serializers.CharField(max_length=100)

    @documented(
        "channels_create",
        request=InputSerializer,
        ok=NewChannelSerializer,
        status=201,
        errors={**_AUTH_ERRORS, 409: "CHANNEL_EXISTS: a channel has this code."},
    )
    def post(self, request: Request) -> Response:
        """Open a sales channel with its API key (scope `holds`, shown once)."""
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        creator = None if isinstance(request.user, KeyHolder) else request.user
        channel, new = open_channel(**params.validated_data, created_by=creator)
        return Response(
            {"code": channel.code, "name": channel.name, "apiKey": new.plain},
            status=HTTPStatus.CREATED,
        )

    @documented("channels_list", ok=ChannelSerializer(many=True), errors=_AUTH_ERRORS)
    def get(self, request: Request) -> Response:
        """Every sales channel by code, with its active keys' prefixes."""
        active = ApiKey.objects.filter(revoked_at__isnull=True).order_by("created_at", "id")
        channels = Channel.objects.prefetch_related(Prefetch("keys", queryset=active))
        return Response(
            [
                {
                    "code": channel.code,
                    "name": channel.name,
                    "createdAt": channel.created_at,
                    "keyPrefixes": [key.prefix for key in channel.keys.all()],
                }
                for channel in channels
            ]
        )


# --- allocations ------------------------------------------------------------------------------


class AllocationSerializer(serializers.Serializer):
    channel = serializers.CharField()
    productId = serializers.CharField()
    warehouseId = serializers.CharField(allow_null=True, help_text="null: every warehouse.")
    quota = serializers.IntegerField(
        allow_null=True, help_text="Most units PENDING + CONFIRMED in the sale window."
    )
    buffer = serializers.IntegerField(
        allow_null=True, help_text="Units of available kept back from the channel."
    )
    bufferPercent = serializers.IntegerField(
        allow_null=True, help_text="Percent of available kept back (the larger of the two wins)."
    )
    floor = serializers.IntegerField(
        allow_null=True, help_text="At or below this many available, the channel sells 0."
    )
    updatedAt = serializers.DateTimeField(allow_null=True, help_text="null: none is set.")


def _allocation(allocation: Allocation, code: str) -> dict:
    return {
        "channel": code,
        "productId": str(allocation.product_id),
        "warehouseId": None if allocation.warehouse_id is None else str(allocation.warehouse_id),
        **{name: getattr(allocation, field) for name, field in ALLOCATION_NAMES.items()},
        "updatedAt": allocation.updated_at if allocation.pk else None,
    }


class AllocationsApi(SalesApi):
    @documented(
        "channel_allocations_list",
        ok=AllocationSerializer(many=True),
        errors={
            **_AUTH_ERRORS,
            400: "INVALID_ID: the channel's code is malformed",
            404: "NOT_FOUND: no such channel.",
        },
    )
    def get(self, request: Request, code: str) -> Response:
        """A channel's allocations, by product (product-wide before per-warehouse ones)."""
        return Response([_allocation(a, code) for a in services.allocations_of(code)])


class AllocationApi(SalesApi):
    @extend_schema_serializer(component_name="AllocationInput")
    class InputSerializer(StrictSerializer):
        quota = _count()
        buffer = _count()
        bufferPercent = _count(maximum=100)
        floor = _count()
        warehouseId = IdField(
            required=False, allow_null=True, help_text="Leave out for every warehouse."
        )

    @documented(
        "channel_allocation_set",
        request=InputSerializer,
        ok=AllocationSerializer,
        parameters=[_PRODUCT_ID],
        errors={**_AUTH_ERRORS, 404: "NOT_FOUND: no such channel, product or warehouse."},
    )
    def put(self, request: Request, code: str, product_id: str) -> Response:
        """Set what a channel may sell of a product (in one warehouse, or all): a rule not
        sent is none; with none at all the allocation is removed (answered with nulls)."""
        product_id = parse_int_id(product_id, name="productId")
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        warehouse_id = data.get("warehouseId")
        values = {field: data.get(name) for name, field in ALLOCATION_NAMES.items()}
        allocation = services.set_allocation(code, product_id, values, warehouse_id=warehouse_id)
        removed = Allocation(product_id=product_id, warehouse_id=warehouse_id)
        return Response(_allocation(allocation or removed, code))
