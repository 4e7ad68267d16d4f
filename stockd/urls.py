from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from inventory.api import ProductDetailApi, ProductListApi
from reservations.api import (
    CronExpireApi,
    ReservationBatchApi,
    ReservationCollectionApi,
    ReservationDetailApi,
    WaitlistEntryApi,
    WaitlistJoinApi,
    cart_confirm,
    cart_release,
    reservation_confirm,
    reservation_extend,
    reservation_release,
)
from stockd import health
from storefront import views as storefront
from warehouses.api import WarehouseListApi

handler404 = "stockd.errors.handler404"
handler500 = "stockd.errors.handler500"

api_patterns = [
    path("api/warehouses", WarehouseListApi.as_view(), name="api-warehouses"),
    path("api/products", ProductListApi.as_view(), name="api-products"),
    path("api/products/<str:product_id>", ProductDetailApi.as_view(), name="api-product"),
    path("api/reservations", ReservationCollectionApi.as_view(), name="api-reservations"),
    path("api/reservations/batch", ReservationBatchApi.as_view(), name="api-reservations-batch"),
    path(
        "api/reservations/<str:reservation_id>",
        ReservationDetailApi.as_view(),
        name="api-reservation",
    ),
    path("api/reservations/<str:reservation_id>/confirm", reservation_confirm),
    path("api/reservations/<str:reservation_id>/release", reservation_release),
    path("api/reservations/<str:reservation_id>/extend", reservation_extend),
    path("api/carts/<str:cart_id>/confirm", cart_confirm),
    path("api/carts/<str:cart_id>/release", cart_release),
    path("api/waitlist", WaitlistJoinApi.as_view(), name="api-waitlist"),
    path("api/waitlist/<str:entry_id>", WaitlistEntryApi.as_view(), name="api-waitlist-entry"),
    path("api/cron/expire", CronExpireApi.as_view(), name="api-cron-expire"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    *api_patterns,
    path("", storefront.catalogue, name="catalogue"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("django-admin/", admin.site.urls),
]
