from django.urls import include, path

urlpatterns = [
    path("", include("adminpanel.auth.urls")),
    path("", include("adminpanel.dashboard.urls")),
    path("", include("adminpanel.stock.urls")),
    path("", include("adminpanel.inventory.urls")),
    path("", include("adminpanel.holds.urls")),
    path("", include("adminpanel.events.urls")),
    path("", include("adminpanel.race.urls")),
    path("", include("adminpanel.analytics.urls")),
]
