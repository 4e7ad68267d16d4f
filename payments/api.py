"""POST /api/payments/webhook: the payment provider's signed callback.

The signature covers the raw body, so it is checked on the bytes as received, before the
JSON is parsed. The view is not session-authenticated (so no CSRF check) and not throttled:
a provider retries whatever is refused, and each delivery is verified and applied once.
"""

import io
import logging
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.openapi import documented
from core.parsers import StrictJSONParser
from payments import services, signatures
from payments.errors import WebhookNotConfigured
from payments.models import PaymentEvent

logger = logging.getLogger(__name__)

SIGNATURE_PARAMETER = OpenApiParameter(
    signatures.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='t=<unix seconds>,v1=<hex HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<t>.<raw '
    'body>")>; several v1 entries are allowed (secret rotation). Refused when t is more than '
    "5 minutes from the server's clock.",
)


class _StrictCharField(serializers.CharField):
    """A JSON string; numbers and booleans are refused (DRF's CharField would take them)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _StrictUUIDField(serializers.UUIDField):
    """A UUID sent as a JSON string (DRF's UUIDField would also take an integer)."""

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_serializer(component_name="PaymentEventData")
class DataSerializer(serializers.Serializer):
    reservationId = _StrictUUIDField(required=False, help_text="The hold paid for.")
    cartId = _StrictUUIDField(required=False, help_text="Or the cart paid for.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if len(attrs) != 1:
            raise serializers.ValidationError("Give exactly one of reservationId and cartId.")
        return attrs


@extend_schema_serializer(component_name="PaymentEventInput")
class InputSerializer(serializers.Serializer):
    """The event. Keys besides these are ignored, so a provider's extra envelope fields
    (created, livemode...) do not make it refuse deliveries."""

    id = _StrictCharField(max_length=255, help_text='The provider\'s event id ("evt_...").')
    type = _StrictCharField(
        max_length=100,
        help_text="payment.succeeded or payment.failed; any other type is answered with "
        'outcome "ignored".',
    )
    data = serializers.DictField(
        help_text="{reservationId} or {cartId}; checked for the two payment types only."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] in services.EVENT_TYPES:
            data = DataSerializer(data=attrs["data"])
            if not data.is_valid():
                raise serializers.ValidationError({"data": data.errors})
            attrs["data"] = data.validated_data
        else:
            attrs["data"] = {}
        return attrs


def _parse_json(body: bytes) -> Any:
    """Parse the body with the API's parser: malformed, repeated keys or too deep is a 400."""
    return StrictJSONParser().parse(io.BytesIO(body), parser_context={})


class PaymentWebhookApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    @documented(
        "payments_webhook",
        summary="Confirm or release a hold or cart when its payment succeeds or fails.",
        request=InputSerializer,
        parameters=[SIGNATURE_PARAMETER],
        ok=inline_serializer(
            "PaymentWebhookResult",
            {
                "received": serializers.BooleanField(),
                "outcome": serializers.ChoiceField(choices=PaymentEvent.Outcome.choices),
                "replayed": serializers.BooleanField(
                    help_text="True when the event id was seen before: nothing changed, and "
                    "the outcome is the first delivery's."
                ),
            },
        ),
        errors={
            400: "BAD_SIGNATURE (missing, malformed or wrong Stockd-Signature), STALE_SIGNATURE "
            "(t more than 5 minutes away), MALFORMED_JSON or VALIDATION_ERROR",
            403: "WEBHOOK_NOT_CONFIGURED: PAYMENT_WEBHOOK_SECRET is empty, every call is refused",
        },
    )
    def post(self, request: Request) -> Response:
        """Verify the signature on the raw body, then apply the event once per event id."""
        secret = settings.PAYMENT_WEBHOOK_SECRET
        if not secret:
            logger.error("Payment webhook called, but PAYMENT_WEBHOOK_SECRET is not set.")
            raise WebhookNotConfigured()
        body = request.body  # before anything parses it: the signature is over these bytes
        timestamp = signatures.verify(
            request.headers.get(signatures.HEADER),
            body,
            secrets=[secret, settings.PAYMENT_WEBHOOK_PREVIOUS_SECRET],
            now=time.time(),
        )
        event = InputSerializer(data=_parse_json(body))
        event.is_valid(raise_exception=True)
        data = event.validated_data
        handled = services.handle_payment_event(
            event_id=data["id"],
            event_type=data["type"],
            reservation_id=data["data"].get("reservationId"),
            cart_id=data["data"].get("cartId"),
            signed_at=datetime.fromtimestamp(timestamp, tz=UTC),
        )
        return Response(
            {"received": True, "outcome": handled.event.outcome, "replayed": handled.replayed}
        )
