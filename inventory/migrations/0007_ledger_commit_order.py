from django.db import migrations

# Each ledger entry records the id of the transaction that wrote it, so readers can follow the
# ledger in commit-safe order (integrations.feed): entries of transactions older than every
# running one are final. PostgreSQL only; SQLite's writers commit one at a time, in id order.
TXID_SQL = """
ALTER TABLE inventory_ledgerentry ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX inventory_ledger_commit_order ON inventory_ledgerentry (txid, id);
"""
DROP_TXID_SQL = "ALTER TABLE inventory_ledgerentry DROP COLUMN txid;"


def add_txid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TXID_SQL)


def drop_txid(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TXID_SQL)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0006_ledger")]

    operations = [migrations.RunPython(add_txid, drop_txid)]
