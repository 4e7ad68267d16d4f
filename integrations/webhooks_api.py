"""Webhooks over the API (scope `webhooks`, or staff): register, list, delete, read their
deliveries, redeliver one; and `GET /api/events`, the same events for clients that poll."""

from http import HTTPStatus

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core.fields import StrictSerializer
from core.ids import parse_int_id
from core.openapi import documented
from integrations import derive, feed, webhooks
from integrations.delivery import redeliver
from integrations.models import ApiKey, Delivery, Event
from integrations.stock_api import StockApi
from integrations.tasks import deliver_webhook

_AUTH_ERRORS = {
    401: "NOT_AUTHENTICATED: no key or session, or a revoked or unknown key.",
    403: "FORBIDDEN: the key lacks the `webhooks` scope, or the user is not staff.",
}
_NOT_FOUND = {404: "NOT_FOUND: no such webhook (or delivery)."}


class WebhooksApiBase(StockApi):
    read_scope = write_scope = ApiKey.Scope.WEBHOOKS


class WebhookSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    createdAt = serializers.DateTimeField()


class NewWebhookSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="Verifies Stockd-Signature; shown only here.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.CharField()
    eventId = serializers.CharField()
    eventType = serializers.CharField()
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()
    lastStatusCode = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField()
    nextAttemptAt = serializers.DateTimeField()
    deliveredAt = serializers.DateTimeField(allow_null=True)


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Receivers dedupe by it (header Stockd-Event-Id).")
    type = serializers.ChoiceField(choices=Event.Type.choices)
    createdAt = serializers.DateTimeField()
    sequence = serializers.IntegerField(help_text="The stock row's ledger sequence number.")
    data = serializers.DictField()


class EventPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    next = serializers.CharField(
        help_text="Pass as `after` to read on (the same cursor when nothing is new)."
    )


def _webhook(hook, *, secret: bool = False) -> dict:
    body = {
        "id": str(hook.pk),
        "url": hook.url,
        "events": hook.events,
        "createdAt": hook.created_at,
    }
    return {**body, "secret": hook.secret} if secret else body


def _delivery(delivery: Delivery) -> dict:
    return {
        "id": str(delivery.pk),
        "eventId": str(delivery.event.public_id),
        "eventType": delivery.event.type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "nextAttemptAt": delivery.next_attempt_at,
        "deliveredAt": delivery.delivered_at,
    }


class WebhooksApi(WebhooksApiBase):
    @extend_schema_serializer(component_name="WebhookInput")
    class InputSerializer(StrictSerializer):
        url = serializers.URLField(max_length=2000)
        events = serializers.ListField(
            child=serializers.ChoiceField(choices=Event.Type.values), min_length=1, max_length=8
        )

    @documented(
        "webhooks_create",
        request=InputSerializer,
        ok=NewWebhookSerializer,
        status=201,
        errors={**_AUTH_ERRORS},
    )
    def post(self, request: Request) -> Response:
        """Subscribe a URL to event types; the answer holds the signing secret, once."""
        params = self.InputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        key = request.auth if isinstance(request.auth, ApiKey) else None
        hook = webhooks.register(key=key, **params.validated_data)
        return Response(_webhook(hook, secret=True), status=HTTPStatus.CREATED)

    @documented("webhooks_list", ok=WebhookSerializer(many=True), errors=_AUTH_ERRORS)
    def get(self, request: Request) -> Response:
        """Every webhook, oldest first (without secrets)."""
        return Response([_webhook(hook) for hook in webhooks.Webhook.objects.all()])


class WebhookApi(WebhooksApiBase):
    @documented("webhooks_delete", ok=WebhookSerializer, errors={**_AUTH_ERRORS, **_NOT_FOUND})
    def delete(self, request: Request, webhook_id: str) -> Response:
        """Stop a webhook (its pending deliveries are dropped); answer what it was."""
        hook = webhooks.webhook(parse_int_id(webhook_id, name="webhookId"))
        body = _webhook(hook)
        hook.delete()
        return Response(body)


class WebhookDeliveriesApi(WebhooksApiBase):
    @documented(
        "webhooks_deliveries_list",
        ok=DeliverySerializer(many=True),
        errors={**_AUTH_ERRORS, **_NOT_FOUND},
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        """A webhook's latest 200 deliveries, newest first."""
        hook = webhooks.webhook(parse_int_id(webhook_id, name="webhookId"))
        latest = hook.deliveries.select_related("event").order_by("-id")[:200]
        return Response([_delivery(d) for d in latest])


class WebhookRedeliverApi(WebhooksApiBase):
    @documented(
        "webhooks_deliveries_retry",
        ok=DeliverySerializer,
        status=202,
        errors={**_AUTH_ERRORS, **_NOT_FOUND},
    )
    def post(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        """Send a delivery again now (a DEAD one, or a PENDING one waiting for its retry)."""
        delivery = webhooks.delivery_of(
            parse_int_id(webhook_id, name="webhookId"),
            parse_int_id(delivery_id, name="deliveryId"),
        )
        if delivery.status != Delivery.Status.DELIVERED:
            redeliver(delivery)
        deliver_webhook.delay(delivery.webhook_id)
        return Response(_delivery(delivery), status=HTTPStatus.ACCEPTED)


class EventFilterSerializer(serializers.Serializer):
    after = serializers.RegexField(
        r"^[0-9]{1,19}-[0-9]{1,19}$",
        required=False,
        help_text="The cursor a page answered as `next` (leave out to start at the beginning).",
    )
    types = serializers.CharField(required=False, help_text="Comma-separated event types.")
    limit = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, default=200,
        help_text="How many stock changes a page covers (each makes one or more events).",
    )  # fmt: skip

    def validate_after(self, value: str) -> feed.Cursor:
        cursor = feed.Cursor.parse(value)
        if cursor is None:
            raise serializers.ValidationError("Not a cursor this API answered.")
        return cursor

    def validate_types(self, value: str) -> list[str]:
        types = [t.strip() for t in value.split(",") if t.strip()]
        unknown = sorted(set(types) - set(Event.Type.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown event types: {', '.join(unknown)}.")
        return types


class EventsApi(WebhooksApiBase):
    @documented(
        "events_list",
        ok=EventPageSerializer,
        parameters=[EventFilterSerializer],
        errors=_AUTH_ERRORS,
    )
    def get(self, request: Request) -> Response:
        """The events after the `after` cursor, in order: the webhooks' events, for clients
        that poll. The cursor follows the ledger in commit-safe order: it never skips an
        event whose change committed late."""
        params = EventFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        start = data.get("after", feed.Cursor())
        entries, cursor = feed.read(start, limit=data["limit"])
        events = derive.events_of(entries, data.get("types") or derive.ALL_TYPES)
        return Response(
            {
                "events": [event.body() for event in events],
                "next": f"{cursor.txid}-{cursor.entry_id}",
            }
        )
