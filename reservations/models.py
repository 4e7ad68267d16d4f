import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from inventory.models import Product
from sales.models import WEB, Tally
from warehouses.models import Warehouse


class ReservationQuerySet(models.QuerySet):
    def pending(self) -> "ReservationQuerySet":
        return self.filter(status=Reservation.Status.PENDING)

    def due(self, now) -> "ReservationQuerySet":
        """Pending holds whose time is up (expired but not yet released)."""
        return self.pending().filter(expires_at__lte=now)

    def visible_to(
        self, user, guest_id: uuid.UUID | None = None, *, own_only: bool = False
    ) -> "ReservationQuerySet":
        """Staff see every hold (only their own with `own_only`); a signed-in shopper their
        own; a guest the holds their browser made (`guest_id`); anyone else none."""
        if user.is_staff and not own_only:
            return self
        if user.is_authenticated:
            return self.filter(user=user)
        if guest_id is not None:
            return self.filter(guest_id=guest_id, user__isnull=True)
        return self.none()


class Reservation(models.Model):
    """Units of one product held in one warehouse until confirmed, released or expired.

    While PENDING, its quantity is counted in the inventory row's reserved_stock. It leaves
    PENDING at most once; CONFIRMED and RELEASED are final.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING"
        CONFIRMED = "CONFIRMED"
        RELEASED = "RELEASED"

    class Kind(models.TextChoices):
        HOLD = "HOLD"
        PREORDER = "PREORDER"

    class ReleaseReason(models.TextChoices):
        CANCELLED = "CANCELLED"
        EXPIRED = "EXPIRED"
        ADMIN = "ADMIN"
        PAYMENT_FAILED = "PAYMENT_FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # NULL, not "", while not released: the API answers releaseReason: null, and a CHECK
    # ties it to status.
    release_reason = models.CharField(  # noqa: DJ001
        max_length=16, choices=ReleaseReason.choices, null=True, blank=True
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    # The hold's own terms, fixed when it is made (its product's sale policy, else the
    # settings): how long it lasts and each extension adds, and how many extensions it may
    # have (db_default too: the hold statements write them only where a policy applies).
    hold_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_extensions = models.PositiveSmallIntegerField(default=1, db_default=1)
    extensions = models.PositiveSmallIntegerField(default=0, db_default=0)
    channel = models.CharField(max_length=32, default=WEB, db_default=WEB)
    # A preorder is confirmed when it is placed, against incoming units (never held: they are
    # not on hand); receipts serve it, oldest first, counting `served` units up to quantity.
    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.HOLD, db_default="HOLD"
    )
    eta = models.DateField(null=True, blank=True, help_text="A preorder's expected arrival.")
    served = models.PositiveIntegerField(default=0, db_default=0)
    served_at = models.DateTimeField(null=True, blank=True)
    # The tallies its units count in while PENDING or CONFIRMED (a customer's limit, a
    # channel's quota); a release gives them back.
    # No foreign-key constraint: its check would run once per hold on the hot quota tally's
    # row; invariant 6 checks that tallies and their holds agree instead.
    limit_tally = models.ForeignKey(
        Tally,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    quota_tally = models.ForeignKey(
        Tally,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reservations",
    )
    cart_id = models.UUIDField(null=True, blank=True, db_index=True)
    # The browser session of a shopper without an account (kept in its session data): only
    # that session lists the hold, and it moves to the account when the shopper logs in.
    guest_id = models.UUIDField(null=True, blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The expiry sweep reads only due PENDING rows.
            models.Index(
                fields=["expires_at"],
                condition=Q(status="PENDING"),
                name="reservation_pending_expiry",
            ),
            models.Index(fields=["product", "warehouse", "status"], name="reservation_row_status"),
            models.Index(fields=["user", "-created_at"], name="reservation_user_recent"),
            models.Index(
                fields=["guest_id", "-created_at"],
                condition=Q(guest_id__isnull=False),
                name="reservation_guest_recent",
            ),
            models.Index(fields=["-created_at"], name="reservation_recent"),
            # A receipt serves a row's open preorders, oldest first.
            models.Index(
                fields=["product", "warehouse", "created_at", "id"],
                condition=Q(kind="PREORDER", status="CONFIRMED"),
                name="reservation_preorder_queue",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="reservation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="RELEASED", release_reason__isnull=False, released_at__isnull=False)
                    | (~Q(status="RELEASED") & Q(release_reason__isnull=True))
                ),
                name="reservation_release_reason_iff_released",
            ),
            models.CheckConstraint(
                condition=~Q(status="CONFIRMED") | Q(confirmed_at__isnull=False),
                name="reservation_confirmed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(served__lte=models.F("quantity")), name="reservation_served_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status} {self.quantity} x {self.product_id}@{self.warehouse_id}"

    @property
    def is_preorder(self) -> bool:
        return self.kind == self.Kind.PREORDER

    @property
    def awaiting(self) -> int:
        """A confirmed preorder's units not served yet (0 for holds)."""
        if self.is_preorder and self.status == self.Status.CONFIRMED:
            return self.quantity - self.served
        return 0

    @property
    def extended(self) -> bool:
        return self.extensions > 0

    @property
    def extensions_left(self) -> int:
        return max(0, self.max_extensions - self.extensions)

    def is_due(self, now) -> bool:
        return self.status == self.Status.PENDING and self.expires_at <= now


class ReservationEvent(models.Model):
    """Append-only audit log; its monotonic id is also the feed for live updates."""

    class Type(models.TextChoices):
        RESERVED = "RESERVED"
        CONFIRMED = "CONFIRMED"
        RELEASED = "RELEASED"
        EXPIRED = "EXPIRED"
        EXTENDED = "EXTENDED"
        STOCK_REPAIRED = "STOCK_REPAIRED"
        STOCK_ADJUSTED = "STOCK_ADJUSTED"
        WAITLIST_JOINED = "WAITLIST_JOINED"
        WAITLIST_PROMOTED = "WAITLIST_PROMOTED"
        WAITLIST_CANCELLED = "WAITLIST_CANCELLED"
        PREORDER_SERVED = "PREORDER_SERVED"

    type = models.CharField(max_length=24, choices=Type.choices)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField(null=True, blank=True)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["type", "created_at"], name="event_type_time"),
            models.Index(fields=["product", "warehouse", "id"], name="event_row_feed"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.type} {self.reservation_id or ''}"


class WaitlistEntry(models.Model):
    """A shopper waiting for units of a product in a warehouse, served first come first served.

    When enough units come back, the oldest waiting entries that fit get a PENDING
    reservation of their own and become PROMOTED.
    """

    class Status(models.TextChoices):
        WAITING = "WAITING"
        PROMOTED = "PROMOTED"
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    reservation = models.OneToOneField(
        Reservation, on_delete=models.PROTECT, null=True, blank=True, related_name="waitlist_entry"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["product", "warehouse", "created_at", "id"],
                condition=Q(status="WAITING"),
                name="waitlist_queue",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="waitlist_quantity_positive"),
            models.UniqueConstraint(
                Lower("email"),
                "product",
                "warehouse",
                condition=Q(status="WAITING"),
                name="waitlist_one_waiting_entry_per_email",
            ),
            models.CheckConstraint(
                condition=Q(status="PROMOTED", reservation__isnull=False)
                | (~Q(status="PROMOTED") & Q(reservation__isnull=True)),
                name="waitlist_promoted_iff_reservation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} waits for {self.quantity} x {self.product_id}@{self.warehouse_id}"
