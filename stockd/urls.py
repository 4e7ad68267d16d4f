"""Wiring: each app's routes, the OpenAPI document, health probes and Django's admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from stockd import health

handler404 = "core.exceptions.handler404"
handler500 = "core.exceptions.handler500"

urlpatterns = [
    path("", include("warehouses.urls")),
    path("", include("inventory.urls")),
    path("", include("reservations.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("storefront.urls")),
    path("", include("accounts.urls")),
    path("", include("adminpanel.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("django-admin/", admin.site.urls),
]
