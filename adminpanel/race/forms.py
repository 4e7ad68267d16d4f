from django import forms

from adminpanel.race.engine import MAX_SHOPPERS


class RaceForm(forms.Form):
    """How many shoppers race for the demo item's last unit."""

    shoppers = forms.IntegerField(
        min_value=1,
        max_value=MAX_SHOPPERS,
        initial=50,
        label="Shoppers",
        help_text=f"1 to {MAX_SHOPPERS}, released at once.",
    )
