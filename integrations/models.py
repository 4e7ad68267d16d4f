from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A key another system calls the API with: shown once, stored as a hash, scoped, and
    revocable. `prefix` (its first characters) finds it and names it in lists and logs."""

    class Scope(models.TextChoices):
        STOCK_READ = "stock:read", "read stock levels and the ledger"
        STOCK_WRITE = "stock:write", "adjust and set stock"
        WEBHOOKS = "webhooks", "manage webhooks and read events"
        HOLDS = "holds", "hold units as its sales channel"
        POLICIES = "policies", "set sale policies, channels and allocations"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key, in hex.")
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    channel = models.ForeignKey(
        "sales.Channel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="keys",
        help_text="The sales channel its holds belong to (a channel's key).",
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

    @property
    def channel_code(self) -> str | None:
        """The sales channel its holds belong to (reservations.channels), if any."""
        return None if self.channel is None else self.channel.code


class Event(models.Model):
    """An outbound event, derived from committed ledger entries by the one dispatcher
    (integrations.dispatch), which alone inserts them, one pass at a time: so event ids are
    in commit order, and `GET /api/events?after=<id>` is a cursor that misses nothing."""

    class Type(models.TextChoices):
        STOCK_CHANGED = "stock.changed"
        OUT_OF_STOCK = "stock.out_of_stock"
        BACK_IN_STOCK = "stock.back_in_stock"
        LOW = "stock.low"
        RESERVATION_CREATED = "reservation.created"
        RESERVATION_CONFIRMED = "reservation.confirmed"
        RESERVATION_RELEASED = "reservation.released"
        RESERVATION_EXPIRED = "reservation.expired"
        TRANSFER_SHIPPED = "transfer.shipped"
        TRANSFER_RECEIVED = "transfer.received"
        TRANSFER_CANCELLED = "transfer.cancelled"

    public_id = models.UUIDField(unique=True, help_text="The id receivers dedupe by.")
    type = models.CharField(max_length=32, choices=Type.choices)
    product_id = models.BigIntegerField()
    warehouse_id = models.BigIntegerField()
    sequence = models.PositiveIntegerField(help_text="The stock row's ledger sequence number.")
    data = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["type", "id"], name="event_type_feed")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.product_id}@{self.warehouse_id}#{self.sequence}"

    def body(self) -> dict:
        """What a receiver gets, and what GET /api/events lists."""
        return {
            "id": str(self.public_id),
            "type": self.type,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "sequence": self.sequence,
            "data": self.data,
        }


class Webhook(models.Model):
    """A URL that receives the events it subscribed to, signed with its secret."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(help_text="The event types it receives.")
    secret = models.CharField(max_length=64, help_text="Signs each delivery (HMAC-SHA256).")
    created_by_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event on its way to one webhook: tried until the receiver answers 2xx, retried
    with backoff for WEBHOOK_RETRY_HOURS, then DEAD until redelivered by hand."""

    class Status(models.TextChoices):
        PENDING = "PENDING"
        DELIVERED = "DELIVERED"
        DEAD = "DEAD"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["webhook", "event"],
                condition=models.Q(status="PENDING"),
                name="delivery_pending_in_order",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="delivery_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.webhook_id} {self.status}"


class DispatchState(models.Model):
    """The dispatcher's place in the ledger (one row): where its next pass reads from."""

    txid = models.BigIntegerField(default=0)
    entry_id = models.BigIntegerField(default=0)
    passed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"dispatched past {self.txid}/{self.entry_id}"
