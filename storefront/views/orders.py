"""SCAFFOLD: replaced by the orders page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def orders(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/orders.html", {})
