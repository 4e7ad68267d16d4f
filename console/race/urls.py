"""The console: the race demo page and its JSON endpoint."""

from django.urls import path

from console.race import api, views

urlpatterns = [
    path("admin/race/", views.race_page, name="console-race"),
    path("api/demo/race", api.RaceDemoApi.as_view(), name="api-demo-race"),
]
