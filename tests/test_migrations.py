"""Every model change has its migration, and migrations apply backwards too."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

# Unapplied in this order: idempotency's migration depends on reservations' 0003, reservations
# on inventory, inventory on warehouses.
DOMAIN_APPS = ("idempotency", "transfers", "reservations", "sales", "inventory", "warehouses")


def _domain_tables() -> set[str]:
    return {
        model._meta.db_table
        for label in DOMAIN_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }


def _schema(tables: set[str]) -> dict[str, dict]:
    """Describe each table as PostgreSQL has it: its columns and its constraints and indexes."""
    with connection.cursor() as cursor:
        return {
            table: {
                "columns": {
                    column.name: tuple(column)
                    for column in connection.introspection.get_table_description(cursor, table)
                },
                "constraints": connection.introspection.get_constraints(cursor, table),
            }
            for table in sorted(tables)
        }


def _all_tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.django_db
def test_every_model_has_its_table_columns_and_named_constraints():
    schema = _schema(_domain_tables())
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            table = schema[model._meta.db_table]
            columns = {field.column for field in model._meta.concrete_fields}
            assert columns <= set(table["columns"]), model
            named = {c.name for c in model._meta.constraints} | {
                i.name for i in model._meta.indexes
            }
            assert named <= set(table["constraints"]), model


@pytest.mark.django_db(transaction=True)
def test_migrations_are_reversible():
    tables = _domain_tables()
    assert tables <= _all_tables()
    every_table_before = _all_tables()
    schema_before = _schema(tables)

    for app in DOMAIN_APPS:
        call_command("migrate", app, "zero", stdout=StringIO())

    assert _all_tables() == every_table_before - tables
    applied = MigrationRecorder(connection).applied_migrations()
    assert [key for key in applied if key[0] in DOMAIN_APPS] == []

    call_command("migrate", stdout=StringIO())

    assert _all_tables() == every_table_before
    assert _schema(tables) == schema_before
