"""Transfers: units moving from one warehouse to another (docs/transfers.md).

DRAFT -> IN_TRANSIT -> PARTIALLY_RECEIVED -> RECEIVED, or DRAFT/IN_TRANSIT -> CANCELLED.
Shipping takes the units off the source's on hand and adds them to the destination's
incoming; each receipt moves good units to the destination's on hand and broken ones to its
unsellable. Every step is one row of the transfer's history.
"""

import uuid

from django.db import models
from django.db.models import F, Q

from inventory.models import Product
from warehouses.models import Warehouse


class Transfer(models.Model):
    class State(models.TextChoices):
        DRAFT = "DRAFT"
        IN_TRANSIT = "IN_TRANSIT"
        PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
        RECEIVED = "RECEIVED"
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=200, blank=True, default="")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    created_by = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="transfer_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_between_two_warehouses"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.state} {self.source_id} -> {self.destination_id}"

    @property
    def shipped(self) -> bool:
        """Whether its units left the source (and have not come back)."""
        return self.state in (
            self.State.IN_TRANSIT,
            self.State.PARTIALLY_RECEIVED,
            self.State.RECEIVED,
        )


class TransferLine(models.Model):
    """Units of one product on a transfer: how many, and how many arrived good or broken."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0, help_text="Good units that arrived.")
    damaged = models.PositiveIntegerField(default=0, help_text="Units that arrived broken.")

    class Meta:
        ordering = ["transfer", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer", "product"], name="transfer_line_one_per_product"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="transfer_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("received") + F("damaged")),
                name="transfer_line_never_over_received",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} on {self.transfer_id}"

    @property
    def outstanding(self) -> int:
        """Units shipped that have not arrived yet (once shipped)."""
        return self.quantity - self.received - self.damaged


class TransferStep(models.Model):
    """One step of a transfer's history: who did what, to which lines, when."""

    class Action(models.TextChoices):
        CREATED = "CREATED"
        SHIPPED = "SHIPPED"
        RECEIVED = "RECEIVED"
        CANCELLED = "CANCELLED"

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(max_length=10, choices=Action.choices)
    state = models.CharField(
        max_length=20, choices=Transfer.State.choices, help_text="The transfer's state after it."
    )
    actor = models.CharField(max_length=64)
    lines = models.JSONField(default=list, help_text="What the step did, line by line.")
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["transfer", "id"]

    def __str__(self) -> str:
        return f"{self.transfer_id} {self.action}"
