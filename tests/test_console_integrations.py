"""The console's integrations pages: staff make API keys (shown once), list and revoke them;
register webhooks (secret shown once), stop them, and send a dead delivery again."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from integrations import webhooks
from integrations.models import ApiKey, Delivery, Webhook
from tests.dispatching import catch_up
from tests.factories import InventoryFactory, UserFactory
from tests.webhook_receiver import receiving

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True))
    return client


def test_a_new_key_is_shown_once_and_works_with_its_scopes(staff):
    made = staff.post("/admin/integrations/", {"name": "ERP", "scopes": ["stock:read"]})

    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    plain = made.context["new_key"].plain
    assert plain in made.content.decode()
    assert plain not in staff.get("/admin/integrations/").content.decode()
    key = ApiKey.objects.get()
    assert (key.name, key.scopes) == ("ERP", ["stock:read"])
    caller = APIClient(headers={"Authorization": f"Bearer {plain}"})
    assert caller.get("/api/stock/levels").status_code == 200


def test_a_key_needs_a_name_and_a_scope(staff):
    refused = staff.post("/admin/integrations/", {"name": "", "scopes": []})

    assert refused.status_code == 400
    assert not ApiKey.objects.exists()


def test_a_revoked_key_is_refused_from_then_on(staff):
    plain = (
        staff.post("/admin/integrations/", {"name": "x", "scopes": ["stock:read"]})
        .context["new_key"]
        .plain
    )
    key = ApiKey.objects.get()

    page = staff.post(f"/admin/integrations/keys/{key.pk}/revoke", follow=True)

    assert "Revoked x" in page.content.decode()
    assert (
        APIClient(headers={"Authorization": f"Bearer {plain}"}).get("/api/stock/levels").status_code
        == 401
    )


def test_only_staff_see_the_page(client):
    assert client.get("/admin/integrations/").status_code == 302
    client.force_login(UserFactory())
    assert client.get("/admin/integrations/").status_code == 403
    assert (
        client.post("/admin/integrations/", {"name": "x", "scopes": ["webhooks"]}).status_code
        == 403
    )
    assert not ApiKey.objects.exists()


def test_a_webhook_is_registered_with_its_secret_shown_once_and_stopped(staff, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    made = staff.post(
        "/admin/integrations/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["stock.changed", "stock.out_of_stock"]},
    )

    hook = Webhook.objects.get()
    assert made.status_code == 200 and "no-store" in made["Cache-Control"]
    assert hook.secret in made.content.decode()
    assert hook.secret not in staff.get("/admin/integrations/webhooks/").content.decode()
    assert hook.events == ["stock.changed", "stock.out_of_stock"]

    staff.post(f"/admin/integrations/webhooks/{hook.pk}/delete")
    assert not Webhook.objects.exists()


def test_a_webhook_into_a_private_network_is_refused_on_the_page(staff):
    refused = staff.post(
        "/admin/integrations/webhooks/", {"url": "http://10.0.0.8/hook", "events": ["stock.low"]}
    )

    assert refused.status_code == 400
    assert "loopback, private or link-local" in refused.content.decode()
    assert not Webhook.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dead_delivery_is_listed_and_sent_again(client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    client.force_login(UserFactory(is_staff=True))
    row = InventoryFactory(total_stock=3)
    with receiving() as receiver:
        hook = webhooks.register(url=receiver.url, events=["stock.changed"])
        catch_up()
        Delivery.objects.update(status="DEAD", attempts=12, last_error="HTTP 500")
        page = client.get(f"/admin/integrations/webhooks/{hook.pk}/").content.decode()
        dead = Delivery.objects.get()
        client.post(f"/admin/integrations/webhooks/{hook.pk}/deliveries/{dead.pk}/redeliver")

    assert 'data-status="DEAD"' in page and "HTTP 500" in page
    dead.refresh_from_db()
    assert dead.status == "DELIVERED"
    assert receiver.delivered()[0]["data"]["productId"] == str(row.product_id)
