"""Sign-up; sign-in, sign-out and password reset are Django's own views."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def signup(request: HttpRequest) -> HttpResponse:
    """Create an account with an email and a password, and sign in."""
    return render(request, "accounts/signup.html", {})
