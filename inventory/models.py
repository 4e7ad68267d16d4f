import functools

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import CombinedExpression
from django.templatetags.static import static

from warehouses.models import Warehouse


class ProductQuerySet(models.QuerySet):
    def active(self) -> "ProductQuerySet":
        return self.filter(active=True)


class Product(models.Model):
    """A sellable item; its stock lives in Inventory rows, one per warehouse."""

    sku = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    brand = models.CharField(max_length=120)
    category = models.CharField(max_length=60, db_index=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, help_text="Rupees.")
    description = models.TextField(blank=True)
    image = models.CharField(
        max_length=200, blank=True, help_text="Path under the static root, served locally."
    )
    size = models.CharField(max_length=120, blank=True)
    colors = models.JSONField(default=list, blank=True, help_text="Colour names, in order.")
    box_contents = models.TextField(blank=True, help_text="What is in the box.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["category", "name", "id"]
        indexes = [models.Index(fields=["category", "name"], name="product_catalogue_order")]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def image_url(self) -> str | None:
        """The URL the product's picture is served at (locally, never hot-linked), or None."""
        return image_url(self.image)


@functools.lru_cache(maxsize=4096)
def image_url(image: str) -> str | None:
    """The URL a product picture `image` (a static path) is served at, or None if it has none.

    Worked out once per picture: the storage's URL costs more than the rest of a hold's JSON.
    """
    return static(image) if image else None


class InventoryQuerySet(models.QuerySet):
    def sellable(self) -> "InventoryQuerySet":
        """Stock rows shoppers can hold: an active product in an active warehouse."""
        return self.filter(product__active=True, warehouse__active=True)

    def with_available(self) -> "InventoryQuerySet":
        """Annotate available_units (AVAILABLE: on hand less held, safety and unsellable),
        computed by the database."""
        return self.annotate(available_units=AVAILABLE)


def available_expression(path: str = "") -> CombinedExpression:
    """What shoppers may hold of a stock row, in SQL: the units on hand less those held, the
    safety buffer and the unsellable ones (damaged or on quality hold); incoming units are
    not on hand. `path` reaches the row from another model ("inventory__")."""
    on_hand, held = F(f"{path}total_stock"), F(f"{path}reserved_stock")
    return on_hand - held - F(f"{path}safety_stock") - F(f"{path}unsellable_stock")


AVAILABLE = available_expression()


def available_of(on_hand: int, held: int, safety: int, unsellable: int, _incoming: int = 0) -> int:
    """What shoppers may hold of a row in these states (STATES order), in Python: on hand
    less held, safety and unsellable; incoming units are not on hand."""
    return on_hand - held - safety - unsellable


class Inventory(models.Model):
    """Stock of one product in one warehouse, in quantity states.

    - on hand (`total_stock`): physical units;
    - held (`reserved_stock`): units in live holds;
    - safety (`safety_stock`): a buffer never offered to shoppers;
    - unsellable (`unsellable_stock`): damaged or on quality hold;
    - incoming (`incoming_stock`): expected, not yet on hand.

    available = on hand - held - safety - unsellable. The CHECK constraints make overselling
    impossible at the database level: a write that would drive a state below zero, or make
    available negative, fails.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="inventory")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="inventory")
    total_stock = models.IntegerField(default=0)
    reserved_stock = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0, help_text="Never offered to shoppers.")
    unsellable_stock = models.IntegerField(default=0, help_text="Damaged or on quality hold.")
    incoming_stock = models.IntegerField(default=0, help_text="Expected, not yet on hand.")
    version = models.PositiveIntegerField(
        default=0, help_text="The sequence number of the row's last ledger entry (0: none)."
    )
    low_stock_threshold = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Alert at or below this many available; blank: LOW_STOCK_THRESHOLD.",
    )

    objects = InventoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "inventory"
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"], name="inventory_one_row_per_product_warehouse"
            ),
            models.CheckConstraint(
                condition=Q(total_stock__gte=0), name="inventory_total_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved_stock__gte=0), name="inventory_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(safety_stock__gte=0), name="inventory_safety_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(unsellable_stock__gte=0), name="inventory_unsellable_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(incoming_stock__gte=0), name="inventory_incoming_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(
                    total_stock__gte=F("reserved_stock") + F("safety_stock") + F("unsellable_stock")
                ),
                name="inventory_available_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.warehouse.code}: {self.available}/{self.total_stock}"

    @property
    def available(self) -> int:
        return self.total_stock - self.committed

    @property
    def committed(self) -> int:
        """Units on hand that shoppers cannot hold: held, safety and unsellable. On hand never
        goes below it (the CHECK inventory_available_not_negative)."""
        return self.reserved_stock + self.safety_stock + self.unsellable_stock

    @property
    def alert_threshold(self) -> int:
        """Available units at or below which staff are alerted (the row's, else the setting)."""
        if self.low_stock_threshold is not None:
            return self.low_stock_threshold
        return settings.LOW_STOCK_THRESHOLD

    @property
    def is_low(self) -> bool:
        return self.available <= self.alert_threshold


STATES = ("on_hand", "held", "safety", "unsellable", "incoming")


class LedgerEntry(models.Model):
    """One change of a stock row's quantity states, written in the change's transaction.

    Each row's entries are numbered 1, 2, 3 ... without gaps (`sequence`; the row's `version`
    is its last), and summing a row's deltas from zero gives its counters exactly
    (check_invariants replays them). The `*_after` columns are the row's states once this
    entry applied, so an entry says what the row was at its sequence without a replay.
    Entries are never changed or deleted (a PostgreSQL trigger refuses it).
    """

    class Reason(models.TextChoices):
        RESERVED = "RESERVED", "a shopper held units"
        CONFIRMED = "CONFIRMED", "held units were sold and shipped"
        RELEASED = "RELEASED", "a hold was released"
        EXPIRED = "EXPIRED", "a hold ran out of time"
        RECEIVED = "RECEIVED", "units arrived"
        ADJUSTED = "ADJUSTED", "staff or an integration changed a state"
        DAMAGED = "DAMAGED", "units were found damaged"
        COUNTED = "COUNTED", "a count set the figures"
        REPAIRED = "REPAIRED", "a drifted counter was recomputed"
        TRANSFER_OUT = "TRANSFER_OUT", "units left on a transfer"
        IN_TRANSIT = "IN_TRANSIT", "a transfer's units are on their way here"
        TRANSFER_IN = "TRANSFER_IN", "a transfer's units arrived"
        TRANSFER_BACK = "TRANSFER_BACK", "a cancelled transfer's units came back"
        CALLED_OFF = "CALLED_OFF", "a cancelled transfer's units will not arrive"
        PREORDERED = "PREORDERED", "arriving units went to confirmed preorders"

    # Indexed by the unique (stock, sequence) constraint, which every read by row uses.
    stock = models.ForeignKey(
        Inventory, on_delete=models.PROTECT, related_name="ledger", db_index=False
    )
    sequence = models.PositiveIntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    on_hand = models.IntegerField(default=0)
    held = models.IntegerField(default=0)
    safety = models.IntegerField(default=0)
    unsellable = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0)
    on_hand_after = models.IntegerField()
    held_after = models.IntegerField()
    safety_after = models.IntegerField()
    unsellable_after = models.IntegerField()
    incoming_after = models.IntegerField()
    actor = models.CharField(max_length=64)
    reference = models.CharField(max_length=200, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["stock", "sequence"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["stock", "sequence"], name="ledger_one_entry_per_step"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="ledger_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.stock_id}#{self.sequence} {self.reason}"

    @property
    def available_after(self) -> int:
        return available_of(
            self.on_hand_after, self.held_after, self.safety_after, self.unsellable_after
        )


class PreorderTerms(models.Model):
    """Whether shoppers may preorder a stock row's incoming units, how many, and when they are
    expected. `placed` counts the units of its preorders not yet served (reservations'
    preorder service keeps it, under this row's lock; check_invariants proves it)."""

    stock = models.OneToOneField(Inventory, on_delete=models.CASCADE, related_name="preorders")
    limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units that may be preordered; blank: preorders off."
    )
    eta = models.DateField(null=True, blank=True, help_text="When the units are expected.")
    placed = models.PositiveIntegerField(default=0, help_text="Units preordered, not yet served.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preorder terms"

    def __str__(self) -> str:
        return f"{self.stock_id}: {self.placed}/{self.limit}"

    @property
    def is_open(self) -> bool:
        return self.limit is not None

    def remaining(self, incoming: int) -> int:
        """Units shoppers may still preorder when `incoming` units are expected: the limit and
        what is coming, less what was preordered."""
        if self.limit is None:
            return 0
        return max(0, min(self.limit, incoming) - self.placed)
