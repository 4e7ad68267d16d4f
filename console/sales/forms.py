"""Forms of the sales pages: a product's policy, a new channel, a channel's allocation.

They check the shape of the input only; sales.services decides what is allowed (a window that
ends before it starts, a percentage over 100) and the views show its refusals in the form.
"""

from datetime import datetime

from django import forms

from inventory.models import Product
from sales.models import MAX_EXTENSIONS, Allocation, Channel, SalePolicy
from sales.services import ALLOCATION_FIELDS, POLICY_FIELDS
from warehouses.models import Warehouse

MAX_HOLD_SECONDS = 7 * 24 * 3600
MAX_UNITS = 1_000_000
_LOCAL_MINUTE = "%Y-%m-%dT%H:%M"


class _LocalTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=_LOCAL_MINUTE)


class _NotSetYesNo(forms.NullBooleanSelect):
    """Yes, no, or not set (a channel's override then inherits the product's rule)."""

    def __init__(self) -> None:
        super().__init__()
        self.choices = [("unknown", "Not set"), ("true", "Yes"), ("false", "No")]


def _units(label: str, help_text: str = "", minimum: int = 0) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=minimum, max_value=MAX_UNITS, help_text=help_text
    )


class PolicyForm(forms.Form):
    """A product's sale policy, or one channel's override of it; a blank field is not set."""

    wide = ("product", "channel", "sale_starts_at", "sale_ends_at")  # a row of their own

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label="All channels",
        label="Applies to",
        help_text="A channel's own policy overrides the product's, field by field.",
    )
    sale_starts_at = forms.DateTimeField(
        label="Sale starts", required=False, widget=_LocalTimeInput()
    )
    sale_ends_at = forms.DateTimeField(label="Sale ends", required=False, widget=_LocalTimeInput())
    limit_per_customer = _units("Limit per customer", "Units one account may hold.", minimum=1)
    requires_account = forms.NullBooleanField(
        label="Requires an account", required=False, widget=_NotSetYesNo()
    )
    hold_seconds = forms.IntegerField(
        label="Guest hold (s)",
        required=False,
        min_value=1,
        max_value=MAX_HOLD_SECONDS,
        help_text="Blank: the shop's default.",
    )
    hold_seconds_signed_in = forms.IntegerField(
        label="Signed-in hold (s)",
        required=False,
        min_value=1,
        max_value=MAX_HOLD_SECONDS,
        help_text="Blank: as for guests.",
    )
    max_extensions = forms.TypedChoiceField(
        label="Extensions allowed",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Not set (1)"), *((n, str(n)) for n in range(MAX_EXTENSIONS + 1))],
    )

    @classmethod
    def of(cls, policy: SalePolicy, **kwargs) -> "PolicyForm":
        """The form filled in with a policy's fields."""
        initial = {name: getattr(policy, name) for name in POLICY_FIELDS}
        initial["channel"] = policy.channel.code if policy.channel else None
        return cls(initial=initial, **kwargs)

    def changes(self, current: SalePolicy) -> dict:
        """The policy fields that differ from `current`, blank ones as None (clearing them).

        A time shown to the minute and sent back unchanged is left alone: the sale window's
        start names the tallies that limits and quotas count in (sales.rules.SaleRules.window),
        so rewriting it without its seconds would restart every count mid-sale."""
        changes = {}
        for name in POLICY_FIELDS:
            value, before = self.cleaned_data[name], getattr(current, name)
            if isinstance(before, datetime) and value == before.replace(second=0, microsecond=0):
                continue
            if value != before:
                changes[name] = value
        return changes

    @property
    def channel_code(self) -> str | None:
        channel = self.cleaned_data.get("channel")
        return channel.code if channel else None


class NewSaleForm(PolicyForm):
    """A policy for a product chosen from the catalogue (the sales list's form)."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name", "id"), empty_label="Choose a product"
    )
    field_order = ["product"]


class ChannelForm(forms.Form):
    wide = ()
    code = forms.SlugField(
        max_length=32, help_text="Lower case, digits and dashes, e.g. “app” or “marketplace-x”."
    )
    name = forms.CharField(max_length=100, required=False, help_text="Blank: the code.")

    def clean_code(self) -> str:
        return self.cleaned_data["code"].lower()


class AllocationForm(forms.Form):
    """What a channel may sell of a product, in one warehouse or all; all blank removes it."""

    wide = ("product", "warehouse")

    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name", "id"), empty_label="Choose a product"
    )
    warehouse = forms.ModelChoiceField(
        queryset=Warehouse.objects.order_by("code"),
        required=False,
        empty_label="All warehouses",
        help_text="A warehouse's own allocation wins over the all-warehouses one.",
    )
    quota = _units("Quota", "Most units held + sold in the sale window.")
    buffer = _units("Buffer", "Units of available kept back.")
    buffer_percent = forms.IntegerField(
        label="Buffer %",
        required=False,
        min_value=0,
        max_value=100,
        help_text="Percent of available kept back; the larger buffer applies.",
    )
    floor = _units("Floor", "At or below this many available, sell 0.")

    @classmethod
    def of(cls, allocation: Allocation) -> "AllocationForm":
        initial = {name: getattr(allocation, name) for name in ALLOCATION_FIELDS}
        initial |= {"product": allocation.product_id, "warehouse": allocation.warehouse_id}
        return cls(initial=initial)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ALLOCATION_FIELDS}

    @property
    def warehouse_id(self) -> int | None:
        warehouse = self.cleaned_data.get("warehouse")
        return warehouse.pk if warehouse else None
