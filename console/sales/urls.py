from django.urls import path

from console.sales import views

urlpatterns = [
    path("admin/sales/", views.sales, name="console-sales"),
    path(
        "admin/sales/products/<int:product_id>/",
        views.product_sale,
        name="console-sales-product",
    ),
    path("admin/sales/channels/", views.channels, name="console-sales-channels"),
    path(
        "admin/sales/channels/<slug:code>/",
        views.channel_allocations,
        name="console-sales-channel",
    ),
]
