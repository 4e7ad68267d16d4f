"""What the dashboard can be narrowed by: the period its conversion covers."""

from django import forms

from console.dashboard.selectors import DEFAULT_PERIOD, PERIODS

PERIOD_LABELS = {"1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days"}


class DashboardPeriodForm(forms.Form):
    period = forms.ChoiceField(
        choices=[(key, PERIOD_LABELS[key]) for key in PERIODS], required=False
    )

    def chosen_period(self) -> str:
        """Return the period asked for, or DEFAULT_PERIOD when none or an unknown one is."""
        if self.is_valid() and self.cleaned_data["period"]:
            return self.cleaned_data["period"]
        return DEFAULT_PERIOD
