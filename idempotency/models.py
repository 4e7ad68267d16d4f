from django.db import models


class IdempotencyKey(models.Model):
    """The first answer to a request sent with an Idempotency-Key, kept 24 hours for retries.

    It is written in the same transaction as the change the request made, so the change and
    the record of it commit together or not at all.
    """

    scope = models.CharField(max_length=120, help_text="Endpoint and caller.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path, body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_once_per_scope")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
