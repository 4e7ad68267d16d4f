from django import forms

from console.race.engine import MAX_SHOPPERS


class RaceForm(forms.Form):
    """How many shoppers race for the demo item's last unit."""

    shoppers = forms.IntegerField(
        min_value=1,
        max_value=MAX_SHOPPERS,
        initial=50,
        label="Shoppers",
        help_text=f"1 to {MAX_SHOPPERS}, released at once.",
        error_messages={
            "required": f"Say how many shoppers race: 1 to {MAX_SHOPPERS}.",
            "invalid": f"Enter a whole number of shoppers, 1 to {MAX_SHOPPERS}.",
            "min_value": f"At least 1 shopper races: pick 1 to {MAX_SHOPPERS}.",
            "max_value": f"At most {MAX_SHOPPERS} shoppers race at once: pick 1 to {MAX_SHOPPERS}.",
        },
    )
