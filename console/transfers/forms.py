"""Forms of the transfers pages: a new transfer (two warehouses, a reference and a few
product lines, blank ones ignored) and a receipt (good and damaged units per line).

They check the shape of the input only; transfers.services decides what is allowed (a product
the source does not stock, more units than are still to arrive) and the views show its
refusals in the form.
"""

from collections.abc import Sequence

from django import forms
from django.core.exceptions import ValidationError

from inventory.models import Product
from transfers.models import TransferLine
from transfers.services import Line, Receipt
from warehouses.models import Warehouse

MAX_UNITS = 1_000_000
LINE_ROWS = 5  # blank product rows the new-transfer form shows
MAX_ROWS = 50  # rows one submission may send
RECEIVE_FORM_ID = "receive-form"


class _ProductChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.name} · {obj.sku}"


class NewTransferForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=Warehouse.objects.order_by("code"),
        label="From warehouse",
        empty_label="Choose a warehouse",
    )
    destination = forms.ModelChoiceField(
        queryset=Warehouse.objects.order_by("code"),
        label="To warehouse",
        empty_label="Choose a warehouse",
    )
    reference = forms.CharField(
        max_length=200, required=False, help_text="A purchase order, a note; optional."
    )


class TransferLineForm(forms.Form):
    """One product and how many units of it; a row with neither is ignored."""

    product = _ProductChoice(
        queryset=Product.objects.order_by("name", "id"),
        required=False,
        empty_label="Choose a product",
    )
    quantity = forms.IntegerField(required=False, min_value=1, max_value=MAX_UNITS)

    def clean(self) -> dict:
        data = super().clean()
        product, quantity = data.get("product"), data.get("quantity")
        if product is not None and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", "Enter how many units.")
        if quantity is not None and product is None and "product" not in self.errors:
            self.add_error("product", "Choose a product.")
        return data


class _TransferLines(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            product = form.cleaned_data.get("product")
            if product is None:
                continue
            if product.pk in seen:
                form.add_error("product", "This product is on another line already.")
            seen.add(product.pk)
        if not seen:
            raise ValidationError("Add at least one line: a product and how many units.")

    def filled(self) -> list[tuple[forms.Form, Line]]:
        """The rows with a product, each with the line it asks for (of a valid formset)."""
        return [
            (form, Line(form.cleaned_data["product"].pk, form.cleaned_data["quantity"]))
            for form in self.forms
            if form.cleaned_data.get("product") is not None
        ]


TransferLineFormSet = forms.formset_factory(
    TransferLineForm,
    formset=_TransferLines,
    extra=LINE_ROWS,
    max_num=MAX_ROWS,
    absolute_max=MAX_ROWS,
    validate_max=True,
)


def _units(label: str, initial: int) -> forms.IntegerField:
    # The inputs sit in the lines table; the form element is the button's, below it.
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=MAX_UNITS,
        initial=initial,
        widget=forms.NumberInput(attrs={"form": RECEIVE_FORM_ID}),
    )


class ReceiveForm(forms.Form):
    """Units that arrived of each line still awaited: good ones and damaged ones (blank: 0).

    Good units start at what is still to arrive, damaged at 0: a shipment that came whole is
    one click; a discrepancy is typed over them."""

    def __init__(self, lines: Sequence[TransferLine], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        self.awaited = [line for line in lines if line.outstanding > 0]
        for line in self.awaited:
            name = line.product.name
            self.fields[f"good-{line.product_id}"] = _units(
                f"Good units of {name}", line.outstanding
            )
            self.fields[f"damaged-{line.product_id}"] = _units(f"Damaged units of {name}", 0)

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors and not self.receipts():
            raise ValidationError("Enter the units that arrived: none were entered.")
        return data

    def receipts(self) -> list[Receipt]:
        """A receipt for each line with units entered (of a valid form)."""
        found = []
        for line in self.awaited:
            good = self.cleaned_data.get(f"good-{line.product_id}") or 0
            damaged = self.cleaned_data.get(f"damaged-{line.product_id}") or 0
            if good or damaged:
                found.append(Receipt(line.product_id, good, damaged))
        return found

    def rows(self) -> list[tuple[TransferLine, forms.BoundField | None, forms.BoundField | None]]:
        """Every line with its good and damaged inputs (None for a line not awaited)."""
        return [
            (
                line,
                *(
                    (self[f"good-{line.product_id}"], self[f"damaged-{line.product_id}"])
                    if line in self.awaited
                    else (None, None)
                ),
            )
            for line in self.lines
        ]
