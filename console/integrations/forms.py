"""Forms of the integrations page: a new API key's name and scopes."""

from django import forms

from integrations.models import ApiKey, Event


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who uses it, e.g. “ERP” or “Marketplace”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKey.Scope.STOCK_READ],
    )


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=2000, label="URL", assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=Event.Type.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Event.Type.STOCK_CHANGED],
    )
