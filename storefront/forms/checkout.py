"""What a shopper sends from the checkout page: a step for the hold, or a (simulated) payment."""

from django import forms


class CheckoutActionForm(forms.Form):
    """Extend or cancel a hold (confirming goes through PaymentForm, the payment step)."""

    action = forms.ChoiceField(choices=[("extend", "Extend"), ("release", "Cancel")])


PAYMENT_METHODS = [("upi", "UPI"), ("card", "Credit or debit card"), ("cod", "Cash on delivery")]


def payment_method_field() -> forms.ChoiceField:
    """How the shopper pays (simulated): at a hold's checkout, and with a preorder."""
    return forms.ChoiceField(
        label="How would you like to pay?",
        choices=PAYMENT_METHODS,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how you would like to pay.",
            "invalid_choice": "Choose one of the ways to pay listed here.",
        },
    )


class PaymentForm(forms.Form):
    """The simulated payment step before a hold is confirmed: no money moves, only a choice."""

    method = payment_method_field()
