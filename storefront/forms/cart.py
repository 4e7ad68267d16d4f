from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS

from storefront.cart import Line

LINE_GONE = "line_gone"


class CartLineForm(forms.Form):
    """A change to the cart line at `index`; `product` says which line the page showed there.

    A line that is no longer at that index (removed or reordered in another tab, or an index
    out of range) is a form-wide error with the code LINE_GONE, so the wrong line never changes.
    """

    product = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, lines: list[Line], index: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.index = index

    @property
    def line(self) -> Line | None:
        """The cart line the form changes, or None if the index is out of range."""
        return self.lines[self.index] if 0 <= self.index < len(self.lines) else None

    def clean(self) -> dict:
        cleaned = super().clean()
        line = self.line
        product = cleaned.get("product")
        if line is None or (product is not None and line.product_id != product):
            raise forms.ValidationError(
                "That line is no longer in your cart (it changed in another tab). "
                "Here is your cart as it is now.",
                code=LINE_GONE,
            )
        return cleaned

    def line_is_gone(self) -> bool:
        """Tell whether the form failed because the line is not there (not a bad field)."""
        return self.has_error(NON_FIELD_ERRORS, code=LINE_GONE) or self.has_error("product")


class LineQuantityForm(CartLineForm):
    """A new quantity for one cart line: a whole number from 1 to MAX_QUANTITY_PER_RESERVATION."""

    quantity = forms.IntegerField(
        error_messages={
            "required": "Enter how many you want.",
            "invalid": "Enter a whole number, like 2.",
        }
    )

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        limit = settings.MAX_QUANTITY_PER_RESERVATION
        if quantity < 1:
            raise forms.ValidationError(
                "Choose at least 1. To take it out of your cart, use Remove."
            )
        if quantity > limit:
            raise forms.ValidationError(f"You can hold at most {limit} of one product.")
        return quantity


class RemoveLineForm(CartLineForm):
    """Take one line out of the cart."""


class HoldCartForm(forms.Form):
    """Hold every line of the cart, optionally splitting a line over several warehouses."""

    allow_split = forms.BooleanField(required=False, label="Allow split across warehouses")


class CartCheckoutActionForm(forms.Form):
    """What a shopper does with a held cart on its checkout page."""

    action = forms.ChoiceField(
        choices=[("confirm", "Confirm purchase"), ("release", "Cancel"), ("again", "Hold again")],
        error_messages={"invalid_choice": "That is not something a held cart can do."},
    )
