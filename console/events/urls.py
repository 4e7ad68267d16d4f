from django.urls import path

from console.events import api, views

urlpatterns = [
    path("admin/events/", views.events, name="console-events"),
    path("admin/events/tail/", views.tail, name="console-events-tail"),
    path("admin/events.csv", views.events_csv, name="console-events-csv"),
    path("api/admin/logs", api.LogListApi.as_view(), name="api-admin-logs"),
]
