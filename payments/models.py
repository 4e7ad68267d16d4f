from django.db import models
from django.db.models import Q


class PaymentEvent(models.Model):
    """A payment provider's event, kept so that a replay of its id changes nothing.

    It is written in the same transaction as the change the event made (the unique event id
    is inserted first), so the change and the record of it commit together or not at all, and
    a second delivery of the same id waits for the first and answers its outcome.
    """

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        RELEASED = "released", "Released (payment failed)"
        EXPIRED = "expired", "The hold had expired; released as EXPIRED"
        ALREADY_RELEASED = "already_released", "Paid, but the hold was released before"
        ALREADY_CONFIRMED = "already_confirmed", "Failed, but the hold was confirmed before"
        UNKNOWN = "unknown", "No such reservation or cart"
        IGNORED = "ignored", "An event type stockd does not act on"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reservation_id = models.UUIDField(null=True, blank=True)
    cart_id = models.UUIDField(null=True, blank=True)
    # The signed timestamp of the delivery that was applied (t= of Stockd-Signature).
    signed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["reservation_id"], name="payment_event_reservation"),
            models.Index(fields=["cart_id"], name="payment_event_cart"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reservation_id__isnull=True) | Q(cart_id__isnull=True),
                name="payment_event_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} {self.outcome}"
