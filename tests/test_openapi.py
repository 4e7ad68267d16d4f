"""The OpenAPI document describes every endpoint, without generation warnings."""

from io import StringIO

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_validates_without_warnings():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    paths = set(yaml.safe_load(out.getvalue())["paths"])
    assert {
        "/api/reservations",
        "/api/reservations/batch",
        "/api/reservations/{reservation_id}/confirm",
        "/api/carts/{cart_id}/release",
        "/api/waitlist/{entry_id}",
        "/api/cron/expire",
    } <= paths
