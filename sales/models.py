"""The rules of a sale: when a product is on sale, how much one customer may hold, how long
holds last, and what each sales channel may sell (docs/flash-sales.md)."""

from django.db import models
from django.db.models import F, Q

from inventory.models import Product
from warehouses.models import Warehouse

# The storefront's channel; holds made without a channel's key belong to it.
WEB = "web"
MAX_EXTENSIONS = 3


class Channel(models.Model):
    """Where a hold comes from: the storefront (`web`), an app, a marketplace partner."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class SalePolicy(models.Model):
    """A product's sale rules; a row with a channel overrides, field by field, the product's
    row without one (a null field inherits)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    sale_starts_at = models.DateTimeField(null=True, blank=True)
    sale_ends_at = models.DateTimeField(null=True, blank=True)
    limit_per_customer = models.PositiveIntegerField(null=True, blank=True)
    requires_account = models.BooleanField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(null=True, blank=True)
    hold_seconds_signed_in = models.PositiveIntegerField(null=True, blank=True)
    max_extensions = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "channel"], nulls_distinct=False, name="sale_policy_once"
            ),
            models.CheckConstraint(
                condition=Q(sale_starts_at__isnull=True)
                | Q(sale_ends_at__isnull=True)
                | Q(sale_ends_at__gt=F("sale_starts_at")),
                name="sale_policy_window_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(max_extensions__lte=MAX_EXTENSIONS),
                name="sale_policy_max_extensions",
            ),
            models.CheckConstraint(
                condition=Q(limit_per_customer__gte=1), name="sale_policy_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(hold_seconds__gte=1) & Q(hold_seconds_signed_in__gte=1),
                name="sale_policy_hold_seconds_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"policy of product {self.product_id} ({self.channel_id or 'all channels'})"


class Allocation(models.Model):
    """What one channel may sell of a product (in one warehouse, or in all without one)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="allocations")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    quota = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most units PENDING + CONFIRMED in the sale window."
    )
    buffer = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units of available kept back from the channel."
    )
    buffer_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Percent of available kept back from the channel."
    )
    floor = models.PositiveIntegerField(
        null=True, blank=True, help_text="At or below this many available, the channel sells 0."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel__code", "product_id", "warehouse_id"]
        indexes = [models.Index(fields=["product", "channel"], name="allocation_of_product")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "product", "warehouse"],
                nulls_distinct=False,
                name="allocation_once",
            ),
            models.CheckConstraint(
                condition=Q(buffer_percent__lte=100), name="allocation_buffer_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: product {self.product_id} @ {self.warehouse_id or 'all'}"


class Tally(models.Model):
    """Units counted against one limit in one sale window: a customer's holds of a product,
    or a channel's holds under an allocation. Held PENDING + CONFIRMED; a release gives its
    units back. Its scope names it (sales.tallies), and locks are taken in scope order."""

    scope = models.CharField(max_length=160, primary_key=True)
    units = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(units__gte=0), name="tally_units_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.units}"
