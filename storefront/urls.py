from django.urls import path

from storefront.views import (
    cart,
    cart_checkout,
    catalogue,
    checkout,
    events,
    landing,
    orders,
    product,
    product_forms,
)

urlpatterns = [
    path("", landing.home, name="home"),
    path("products/", catalogue.catalogue, name="catalogue"),
    path("deliver-to/", catalogue.deliver_to, name="deliver-to"),
    path("products/<int:product_id>/", product.product_page, name="product"),
    path("products/<int:product_id>/reserve/", product_forms.reserve, name="product-reserve"),
    path("products/<int:product_id>/cart/", product_forms.add_to_cart, name="product-add-to-cart"),
    path("products/<int:product_id>/preorder/", product_forms.preorder, name="product-preorder"),
    path(
        "products/<int:product_id>/waitlist/", product_forms.join_waitlist, name="product-waitlist"
    ),
    path(
        "products/<int:product_id>/waitlist/leave/",
        product_forms.leave_waitlist,
        name="product-waitlist-leave",
    ),
    path("cart/", cart.cart_page, name="cart"),
    path("cart/lines/<int:index>/quantity/", cart.set_line_quantity, name="cart-line-quantity"),
    path("cart/lines/<int:index>/remove/", cart.remove_line, name="cart-line-remove"),
    path("cart/hold/", cart.hold_cart, name="cart-hold"),
    path("checkout/cart/<uuid:cart_id>/", cart_checkout.cart_checkout, name="cart-checkout"),
    path("checkout/<uuid:reservation_id>/", checkout.checkout, name="checkout"),
    path("checkout/<uuid:reservation_id>/pay/", checkout.pay, name="checkout-pay"),
    path("orders/", orders.orders, name="orders"),
    path("events/stock/", events.stock_events, name="stock-events"),
]
