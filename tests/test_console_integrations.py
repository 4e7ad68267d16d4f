"""The console's integrations page: staff make API keys (shown once), list and revoke them."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from integrations.models import ApiKey
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(UserFactory(is_staff=True))
    return client


def test_a_new_key_is_shown_once_and_works_with_its_scopes(staff):
    made = staff.post("/admin/integrations/", {"name": "ERP", "scopes": ["stock:read"]})

    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
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
