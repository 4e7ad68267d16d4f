from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A key another system calls the API with: shown once, stored as a hash, scoped, and
    revocable. `prefix` (its first characters) finds it and names it in lists and logs."""

    class Scope(models.TextChoices):
        STOCK_READ = "stock:read", "read stock levels and the ledger"
        STOCK_WRITE = "stock:write", "adjust and set stock"
        WEBHOOKS = "webhooks", "manage webhooks and read events"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key, in hex.")
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return self.is_active and scope in self.scopes
