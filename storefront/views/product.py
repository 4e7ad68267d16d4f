"""SCAFFOLD: replaced by the product page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def product_page(request: HttpRequest, product_id: int) -> HttpResponse:
    return render(request, "storefront/product.html", {})
