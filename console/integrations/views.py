"""Integrations in the console: API keys (made here and shown once, listed, revoked) and
webhooks (registered with their secret shown once, stopped; their deliveries, redelivered)."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.access import staff_required
from console.integrations.forms import ApiKeyForm, WebhookForm
from core.errors import StockdError
from integrations import webhooks
from integrations.delivery import redeliver
from integrations.keys import create_key, revoke_key
from integrations.models import ApiKey, Delivery, Webhook
from integrations.tasks import deliver_webhook


def _page(request: HttpRequest, form: ApiKeyForm, *, new_key=None, status: int = 200):
    context = {"form": form, "keys": ApiKey.objects.all(), "new_key": new_key}
    return render(request, "console/integrations/keys.html", context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache  # a new key is on the page it answers
@staff_required
def keys(request: HttpRequest) -> HttpResponse:
    """List the API keys; a POST makes one and shows it, once, on the page it answers."""
    if request.method == "GET":
        return _page(request, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    new_key = create_key(
        name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], created_by=request.user
    )
    return _page(request, ApiKeyForm(), new_key=new_key)


@require_POST
@staff_required
def revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke a key for good; calls with it answer 401 from now on."""
    try:
        key = revoke_key(key_id)
    except StockdError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Revoked {key.name} ({key.prefix}…).")
    return redirect("console-integrations")


def _webhooks_page(request: HttpRequest, form: WebhookForm, *, new=None, status: int = 200):
    hooks = Webhook.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
        dead=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DEAD)),
        delivered=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DELIVERED)),
    )
    context = {"form": form, "webhooks": hooks, "new": new}
    return render(request, "console/integrations/webhooks.html", context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache  # a new webhook's secret is on the page it answers
@staff_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    """List webhooks with their deliveries' counts; a POST registers one and shows its
    signing secret, once."""
    if request.method == "GET":
        return _webhooks_page(request, WebhookForm())
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _webhooks_page(request, form, status=400)
    try:
        new = webhooks.register(url=form.cleaned_data["url"], events=form.cleaned_data["events"])
    except StockdError as error:
        form.add_error("url", error.detail)
        return _webhooks_page(request, form, status=400)
    return _webhooks_page(request, WebhookForm(), new=new)


@require_POST
@staff_required
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    try:
        hook = webhooks.webhook(webhook_id)
    except StockdError as error:
        messages.error(request, error.detail)
    else:
        hook.delete()
        messages.success(request, f"Stopped the webhook to {hook.url}.")
    return redirect("console-webhooks")


@require_GET
@staff_required
def webhook_deliveries(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """A webhook's latest 100 deliveries, each with its tries and a redeliver button."""
    try:
        hook = webhooks.webhook(webhook_id)
    except StockdError as error:
        raise Http404(error.detail) from None
    latest = hook.deliveries.select_related("event").order_by("-id")[:100]
    context = {"webhook": hook, "deliveries": latest}
    return render(request, "console/integrations/deliveries.html", context)


@require_POST
@staff_required
def webhook_redeliver(request: HttpRequest, webhook_id: int, delivery_id: int) -> HttpResponse:
    """Send a delivery again now."""
    try:
        found = webhooks.delivery_of(webhook_id, delivery_id)
    except StockdError as error:
        messages.error(request, error.detail)
    else:
        if found.status != Delivery.Status.DELIVERED:
            redeliver(found)
        deliver_webhook.delay(webhook_id)
        messages.success(request, f"Delivery {found.pk} sent again.")
    return redirect("console-webhook-deliveries", webhook_id=webhook_id)
