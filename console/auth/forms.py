"""The console's sign-in form: the email goes in the `username` field, as Django's login does."""

from django import forms


class ConsoleSignInForm(forms.Form):
    """An email and a password, both required; console.auth.signin checks them."""

    username = forms.CharField(
        label="Email",
        max_length=150,
        widget=forms.EmailInput(
            attrs={
                "autofocus": True,
                "autocomplete": "username",
                "autocapitalize": "none",
                "placeholder": "admin@stockd.com",
            }
        ),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
