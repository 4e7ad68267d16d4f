from django.urls import path

from storefront.views import cart, catalogue, checkout, orders, product

urlpatterns = [
    path("", catalogue.catalogue, name="catalogue"),
    path("deliver-to/", catalogue.deliver_to, name="deliver-to"),
    path("products/<int:product_id>/", product.product_page, name="product"),
    path("cart/", cart.cart_page, name="cart"),
    path("checkout/<uuid:reservation_id>/", checkout.checkout, name="checkout"),
    path("orders/", orders.orders, name="orders"),
]
