"""Sign-up and sign-in forms: the email is the username."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.core.exceptions import ValidationError
from django.db.models import Q

from core import signin_limits
from core.errors import SignInRateLimited

User = get_user_model()

DUPLICATE_EMAIL = "An account with this email already exists."
PASSWORD_HELP = (
    "At least 8 characters, not only digits, not a common password and not like your email."
)


def normalize_email(value: str) -> str:
    """Return `value` trimmed and lower-cased, the one spelling an account is stored under."""
    return value.strip().lower()


def email_taken(email: str) -> bool:
    """Tell whether an account already uses `email` as its username or its email, in any case."""
    return User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists()


class SignUpForm(BaseUserCreationForm):
    """Create an account from an email and a password checked by AUTH_PASSWORD_VALIDATORS.

    The email is stored lower-cased as both username and email; one already in use, in any
    case, is refused with DUPLICATE_EMAIL and nothing is written.
    """

    # The username column is 150 characters long, so the email may be no longer.
    email = forms.EmailField(
        label="Email",
        max_length=150,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "placeholder": "you@example.com"}
        ),
    )
    password1, password2 = BaseUserCreationForm.create_password_fields(
        label1="Password", label2="Confirm password"
    )

    class Meta:
        model = User
        fields = ("email",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = PASSWORD_HELP
        self.fields["password2"].help_text = ""

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if email_taken(email):
            raise ValidationError(DUPLICATE_EMAIL, code="duplicate_email")
        return email

    def save(self, commit: bool = True):
        # Set only now: the password validators, which ran before, compare the password with
        # the email and would name it "the username" if it were already set.
        self.instance.username = self.cleaned_data["email"]
        return super().save(commit=commit)


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with the email (in the `username` field, as Django's LoginView expects).

    Failed sign-ins count against the client's IP and the email (core.signin_limits, shared
    with the console); once either has used them up, the form is refused with a
    `rate_limited` error, without checking the password, and `rate_limited` holds the error.
    """

    rate_limited: SignInRateLimited | None = None

    username = forms.CharField(
        label="Email",
        max_length=150,
        widget=forms.EmailInput(
            attrs={
                "autofocus": True,
                "autocomplete": "username",
                "autocapitalize": "none",
                "placeholder": "you@example.com",
            }
        ),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password don't match an account. Check them, or reset your password."
        ),
        "inactive": "This account is switched off.",
    }

    def clean_username(self) -> str:
        """Return the account's own spelling of the email, whatever case was typed."""
        typed = self.cleaned_data["username"].strip()
        stored = list(
            User.objects.filter(username__iexact=typed)
            .order_by("pk")
            .values_list("username", flat=True)[:10]
        )
        return typed if typed in stored or not stored else stored[0]

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # a missing field: nothing was tried, nothing is counted
        try:
            signin_limits.check(self.request, username)
        except SignInRateLimited as limited:
            self.rate_limited = limited
            raise ValidationError(limited.detail, code="rate_limited") from None
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                signin_limits.record_failure(self.request, username)
            raise
        signin_limits.forget_username(username)
        return cleaned
