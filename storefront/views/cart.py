"""SCAFFOLD: replaced by the cart page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def cart_page(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/cart.html", {})
