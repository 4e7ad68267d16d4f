"""The console: the live dashboard and the staff API's stats."""

from django.urls import path

from console.dashboard import api, views

urlpatterns = [
    path("admin/", views.dashboard, name="console-dashboard"),
    path("api/admin/stats", api.StatsApi.as_view(), name="console-api-stats"),
]
