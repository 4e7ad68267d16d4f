"""Wiring: each app's routes, the OpenAPI document, health probes and Django's admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from stockd import health, metrics

handler400 = "core.error_handlers.handler400"
handler403 = "core.error_handlers.handler403"
handler404 = "core.error_handlers.handler404"
handler500 = "core.error_handlers.handler500"

urlpatterns = [
    path("", include("warehouses.urls")),
    path("", include("inventory.urls")),
    path("", include("reservations.urls")),
    path("", include("integrations.urls")),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (?script), so the
    # page passes the Content Security Policy: no inline script, no inline style.
    path(
        "api/docs",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("", include("storefront.urls")),
    path("", include("accounts.urls")),
    path("", include("console.urls")),
    path("", include("payments.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("django-admin/", admin.site.urls),
]
