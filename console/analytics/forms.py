"""The analytics period: a preset (last 24 hours, 7 or 30 days) or a range of dates."""

from datetime import date, datetime, timedelta

from django import forms
from django.utils import timezone

from console.analytics.selectors import Period
from console.forms import start_of_day

PRESETS: dict[str, tuple[str, timedelta]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT_PRESET = "7d"
LONGEST_RANGE_DAYS = 366


def preset_period(preset: str, *, now: datetime | None = None) -> Period:
    """Return the period that ends now and spans the preset's length."""
    now = now or timezone.now()
    return Period(start=now - PRESETS[preset][1], end=now)


def _date_field(label: str) -> forms.DateField:
    """Return an optional YYYY-MM-DD date field with a date picker."""
    return forms.DateField(
        required=False,
        label=label,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD, like 2026-01-31."},
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class PeriodForm(forms.Form):
    """Choose the period by preset, or by `from` and `to` dates (both included).

    The dates win over the preset when given. The query parameters are `preset`, `from` and
    `to`; `from` is a Python keyword, so those two fields are added in __init__.
    """

    preset = forms.ChoiceField(
        choices=[("", "Custom")] + [(key, label) for key, (label, _) in PRESETS.items()],
        required=False,
        error_messages={"invalid_choice": "Choose last 24 hours, 7 days or 30 days."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = _date_field("From")
        self.fields["to"] = _date_field("To")

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if self.errors:
            return cleaned
        if (start is None) != (end is None):
            raise forms.ValidationError("Enter both dates, or choose a preset.")
        if start is not None and end is not None:
            if end >= date.max:
                raise forms.ValidationError("Choose an end date before 9999-12-31.")
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            if (end - start).days + 1 > LONGEST_RANGE_DAYS:
                raise forms.ValidationError(
                    f"Choose at most {LONGEST_RANGE_DAYS} days; that range is "
                    f"{(end - start).days + 1} days."
                )
        return cleaned

    def period(self) -> tuple[Period, str]:
        """Return the chosen period and its label; call only on a valid form."""
        start, end = self.cleaned_data.get("from"), self.cleaned_data.get("to")
        if start is not None and end is not None:
            label = f"{start:%d %b %Y} – {end:%d %b %Y}"
            return Period(
                start=start_of_day(start), end=start_of_day(end + timedelta(days=1))
            ), label
        preset = self.cleaned_data.get("preset") or DEFAULT_PRESET
        return preset_period(preset), PRESETS[preset][0]

    @property
    def chosen_preset(self) -> str:
        """The preset in use, or "" for a date range (for highlighting the preset links)."""
        if not self.is_valid():
            return DEFAULT_PRESET
        if self.cleaned_data.get("from") is not None:
            return ""
        return self.cleaned_data.get("preset") or DEFAULT_PRESET


def default_period() -> tuple[Period, str]:
    return preset_period(DEFAULT_PRESET), PRESETS[DEFAULT_PRESET][0]
