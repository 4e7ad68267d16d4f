from django.urls import include, path

urlpatterns = [
    path("", include("console.auth.urls")),
    path("", include("console.dashboard.urls")),
    path("", include("console.stock.urls")),
    path("", include("console.inventory.urls")),
    path("", include("console.transfers.urls")),
    path("", include("console.holds.urls")),
    path("", include("console.events.urls")),
    path("", include("console.race.urls")),
    path("", include("console.analytics.urls")),
    path("", include("console.integrations.urls")),
    path("", include("console.sales.urls")),
]
