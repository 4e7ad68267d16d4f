"""Every model change has its migration, and migrations apply backwards too."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_migrations_are_reversible():
    for app in ("reservations", "inventory", "warehouses"):
        call_command("migrate", app, "zero", stdout=StringIO())
    call_command("migrate", stdout=StringIO())
