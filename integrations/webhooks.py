"""Registering webhooks and redelivering their deliveries."""

import secrets

from core.errors import InvalidInput, NotFound
from integrations.models import ApiKey, Delivery, Event, Webhook
from integrations.url_safety import check_url

MAX_WEBHOOKS = 50


class WebhookNotFound(NotFound):
    detail = "No such webhook."


class DeliveryNotFound(NotFound):
    detail = "No such delivery of that webhook."


def register(*, url: str, events: list[str], key: ApiKey | None = None) -> Webhook:
    """Subscribe `url` to `events` with a new secret. Raise InvalidInput for unknown event
    types, too many webhooks, or a URL into a private network (integrations.url_safety)."""
    unknown = sorted(set(events) - set(Event.Type.values))
    if unknown or not events:
        raise InvalidInput(f"Choose events among {', '.join(Event.Type.values)}.")
    check_url(url)
    if Webhook.objects.count() >= MAX_WEBHOOKS:
        raise InvalidInput(f"At most {MAX_WEBHOOKS} webhooks; delete one first.")
    return Webhook.objects.create(
        url=url, events=sorted(set(events)), secret=secrets.token_hex(32), created_by_key=key
    )


def webhook(webhook_id: int) -> Webhook:
    found = Webhook.objects.filter(pk=webhook_id).first()
    if found is None:
        raise WebhookNotFound()
    return found


def delivery_of(webhook_id: int, delivery_id: int) -> Delivery:
    found = Delivery.objects.filter(pk=delivery_id, webhook_id=webhook_id).first()
    if found is None:
        raise DeliveryNotFound()
    return found
