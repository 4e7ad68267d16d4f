"""The product page's forms: the delivery check, and what a shopper buys, preorders or waits
for."""

from django import forms
from django.conf import settings

from inventory.models import Inventory
from storefront.forms.checkout import payment_method_field
from warehouses.pincodes import is_pincode

PINCODE_SHAPE = "A pincode has 6 digits and does not start with 0, e.g. 560001."


class DeliveryCheckForm(forms.Form):
    """A pincode to quote delivery to; whether we deliver there is the delivery service's call."""

    pincode = forms.CharField(
        max_length=6,
        error_messages={
            "required": "Enter your 6-digit pincode to see delivery options.",
            "max_length": PINCODE_SHAPE,
        },
    )

    def clean_pincode(self) -> str:
        pincode = self.cleaned_data["pincode"]
        if not is_pincode(pincode):
            raise forms.ValidationError(PINCODE_SHAPE)
        return pincode


def _quantity_field() -> forms.IntegerField:
    limit = settings.MAX_QUANTITY_PER_RESERVATION
    return forms.IntegerField(
        min_value=1,
        max_value=limit,
        error_messages={
            "required": "Choose how many you want.",
            "invalid": "Enter a whole number of units, e.g. 1.",
            "min_value": "Choose at least 1.",
            "max_value": f"At most {limit} per hold.",
        },
    )


class _WarehouseQuantityForm(forms.Form):
    """A warehouse among those that stock the product, and a quantity within the hold limit.

    `stock` is the product's sellable inventory rows, annotated with `available_units`.
    `cleaned_data["warehouse"]` is the chosen row.
    """

    warehouse = forms.TypedChoiceField(
        coerce=int,
        error_messages={
            "required": "Choose the warehouse to ship from.",
            "invalid_choice": "Choose one of the warehouses listed.",
        },
    )
    quantity = forms.IntegerField()  # replaced in __init__: the limit is read from settings
    # Carried along so that the page comes back with the shopper's delivery quote.
    pincode = forms.CharField(required=False, max_length=6)

    def __init__(self, *args, stock: list[Inventory], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stock = {row.warehouse_id: row for row in stock}
        self.fields["warehouse"].choices = [(row.warehouse_id, row.warehouse.name) for row in stock]
        self.fields["quantity"] = _quantity_field()

    def clean_warehouse(self) -> Inventory:
        return self.stock[self.cleaned_data["warehouse"]]

    def clean_pincode(self) -> str:
        pincode = self.cleaned_data["pincode"]
        return pincode if is_pincode(pincode) else ""


class PurchaseForm(_WarehouseQuantityForm):
    """Units to reserve or put in the cart: no more than the chosen warehouse has now."""

    def clean(self) -> dict:
        cleaned = super().clean()
        row, quantity = cleaned.get("warehouse"), cleaned.get("quantity")
        if row is None or quantity is None:
            return cleaned
        city = row.warehouse.city
        if row.available_units <= 0:
            self.add_error(
                "quantity",
                f"Sold out in {city}. Join the waitlist below, or choose another warehouse.",
            )
        elif quantity > row.available_units:
            self.add_error(
                "quantity",
                f"Only {row.available_units} available in {city}. "
                "Lower the quantity or choose another warehouse.",
            )
        return cleaned


class WaitlistForm(_WarehouseQuantityForm):
    """An email to tell when the chosen warehouse has the units again."""

    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter your email so we can tell you when it is back.",
            "invalid": "Enter a valid email address, e.g. ann@example.com.",
        },
    )


class PreorderForm(_WarehouseQuantityForm):
    """Units to preorder from the chosen warehouse, and how the shopper pays (a preorder is
    confirmed when placed: it is paid for then, as a hold is at its checkout). Whether places
    are left is the preorder service's call, made under its lock."""

    method = payment_method_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.MAX_QUANTITY_PER_RESERVATION
        self.fields["quantity"].error_messages["max_value"] = f"At most {limit} per preorder."


class LeaveWaitlistForm(forms.Form):
    """The waitlist entry a shopper leaves from the product page."""

    entry = forms.UUIDField(error_messages={"required": "Say which waitlist entry to leave."})
    pincode = forms.CharField(required=False, max_length=6)

    def clean_pincode(self) -> str:
        pincode = self.cleaned_data["pincode"]
        return pincode if is_pincode(pincode) else ""
