"""IdempotencyKey moves to the idempotency app: its table is renamed, its rows kept."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0002_alter_reservationevent_type_idempotencykey_and_more"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable("IdempotencyKey", "idempotency_idempotencykey"),
            ],
            state_operations=[migrations.DeleteModel("IdempotencyKey")],
        ),
    ]
