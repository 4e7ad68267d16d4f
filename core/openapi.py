"""OpenAPI pieces shared by every app's API: the error body and its responses."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

# Every key an error body can carry (core.errors.StockdError.body and core.error_handlers); the
# extras come only with the codes named in their help text.
ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": serializers.CharField(help_text="A sentence to show the shopper."),
        "code": serializers.CharField(help_text="A stable code for programs."),
        "details": inline_serializer(
            "ValidationDetails",
            {
                "formErrors": serializers.ListField(
                    child=serializers.CharField(), help_text="Messages about the input as a whole."
                ),
                "fieldErrors": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    help_text="Messages by field; a nested one is prefixed with its path, "
                    '"[0].quantity: ...".',
                ),
            },
            required=False,
            help_text="VALIDATION_ERROR: what is wrong with the input.",
        ),
        "available": serializers.IntegerField(
            required=False, help_text="INSUFFICIENT_STOCK, STOCK_AVAILABLE: units available."
        ),
        "productId": serializers.CharField(
            required=False,
            help_text="INSUFFICIENT_STOCK of a cart or a transfer, RECEIPT_EXCEEDS_SHIPMENT: "
            "the line's product.",
        ),
        "saleStartsAt": serializers.DateTimeField(
            required=False, allow_null=True, help_text="NOT_ON_SALE: when the sale opens."
        ),
        "saleEndsAt": serializers.DateTimeField(
            required=False, allow_null=True, help_text="NOT_ON_SALE: when the sale closes."
        ),
        "limit": serializers.IntegerField(
            required=False, help_text="LIMIT_REACHED: the most units one customer may hold."
        ),
        "alreadyHeld": serializers.IntegerField(
            required=False, help_text="LIMIT_REACHED: the units the customer holds already."
        ),
        "channel": serializers.CharField(
            required=False, help_text="CHANNEL_QUOTA_REACHED: the sales channel."
        ),
        "quota": serializers.IntegerField(
            required=False, help_text="CHANNEL_QUOTA_REACHED: the channel's quota."
        ),
        "remaining": serializers.IntegerField(
            required=False,
            help_text="CHANNEL_QUOTA_REACHED: what the channel may still hold; "
            "PREORDER_LIMIT_REACHED: the preorder places left.",
        ),
        "state": serializers.CharField(
            required=False, help_text="INVALID_TRANSITION of a transfer: its state now."
        ),
        "outstanding": serializers.IntegerField(
            required=False,
            help_text="RECEIPT_EXCEEDS_SHIPMENT: the line's units still to arrive.",
        ),
        "warehouseId": serializers.CharField(
            required=False,
            allow_null=True,
            help_text="INSUFFICIENT_STOCK of a cart: the short line's warehouse (null if routed).",
        ),
        "pincode": serializers.CharField(
            required=False, help_text="PINCODE_NOT_SERVICEABLE: the pincode given."
        ),
        "message": serializers.CharField(
            required=False,
            help_text="PINCODE_NOT_SERVICEABLE, ALREADY_WAITING: a sentence for the shopper, as "
            "the original's UI shows it.",
        ),
        "entry": serializers.DictField(
            required=False,
            help_text="ALREADY_WAITING: the waiting entry, as GET /api/waitlist/{entry_id} "
            "answers it.",
        ),
        "position": serializers.IntegerField(
            required=False, help_text="ALREADY_WAITING: the entry's place in the queue."
        ),
        "currentTotalStock": serializers.IntegerField(
            required=False,
            help_text="STALE_TOTAL, STOCK_BELOW_RESERVED: the total the row has now.",
        ),
        "reservedStock": serializers.IntegerField(
            required=False,
            help_text="STALE_TOTAL, STOCK_BELOW_RESERVED: the units shoppers hold.",
        ),
        "problems": serializers.ListField(
            child=serializers.DictField(),
            required=False,
            help_text="STOCK_CHANGES_REFUSED: each refused line and why.",
        ),
        "level": serializers.DictField(
            required=False,
            help_text="STALE_VERSION, INSUFFICIENT_STOCK of a stock write: the row as it is "
            "now, as GET /api/stock/levels answers it.",
        ),
        "index": serializers.IntegerField(
            required=False,
            help_text="INSUFFICIENT_STOCK, NOT_FOUND of stock adjustments and transfers: the "
            "refused item or line.",
        ),
        "retryAfter": serializers.IntegerField(
            required=False,
            help_text="RATE_LIMITED: seconds until the next try, as in the Retry-After header.",
        ),
    },
)


def error_response(description: str) -> OpenApiResponse:
    """Document an error answer: the shared error body, described."""
    return OpenApiResponse(ErrorSerializer, description=description)


def uuid_path_parameter(name: str) -> OpenApiParameter:
    """Document a UUID taken from the path (as `format: uuid`, so clients and fuzzers send one)."""
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description="UUID")


def documented(
    operation_id: str,
    *,
    ok: Any,
    errors: dict[int, str],
    status: int = 200,
    summary: str | None = None,
    request: Any = None,
    parameters: list | None = None,
):
    """Document an operation: its success body (`ok` at `status`) and its error answers."""
    responses = {status: ok, **{code: error_response(text) for code, text in errors.items()}}
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=request,
        parameters=parameters or [],
        responses=responses,
    )


def documented_page(
    operation_id: str,
    *,
    item: Any,
    filters: Any,
    order: str,
    errors: dict[int, str] | None = None,
):
    """Document a paged list: its filters, its items in `order`, and X-Total-Count."""
    ok = OpenApiResponse(
        item(many=True),
        description=f"{order}; the X-Total-Count header holds the number of matching rows.",
    )
    return documented(operation_id, ok=ok, errors=errors or {}, parameters=[filters])


_BAD_INPUT = (
    "Bad input: a malformed id in the path, query parameter, header or body "
    "(INVALID_ID, VALIDATION_ERROR, MALFORMED_JSON, ...)"
)


def document_bad_input(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every operation that takes input answers 400.

    Any path id, query parameter or body can be malformed, and the API answers that
    with a 400 error body (DESIGN.md); operations whose decorator listed no 400 get it here,
    so the document lists every status a client (or schemathesis) can see.
    """
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            # A header alone (the cron secret) is checked, not parsed: 401, never 400.
            located = {parameter.get("in") for parameter in operation.get("parameters", [])}
            takes_input = located & {"path", "query"} or operation.get("requestBody")
            if takes_input and "400" not in operation["responses"]:
                operation["responses"]["400"] = {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                    "description": _BAD_INPUT,
                }
    return result
