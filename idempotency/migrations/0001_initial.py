"""IdempotencyKey, moved here from reservations: the table exists already (renamed there)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("reservations", "0003_move_idempotencykey_to_its_app"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "scope",
                            models.CharField(help_text="Endpoint and caller.", max_length=120),
                        ),
                        ("key", models.CharField(max_length=255)),
                        (
                            "fingerprint",
                            models.CharField(
                                help_text="SHA-256 of method, path, body.", max_length=64
                            ),
                        ),
                        (
                            "response_status",
                            models.PositiveSmallIntegerField(blank=True, null=True),
                        ),
                        ("response_body", models.JSONField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(db_index=True)),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("scope", "key"), name="idempotency_key_once_per_scope"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
