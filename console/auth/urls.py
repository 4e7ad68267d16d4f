"""The console: signing in and out, as pages and as the staff JSON API."""

from django.urls import path

from console.auth import api, views

urlpatterns = [
    path("admin/login/", views.console_login, name="console-login"),
    path("admin/logout/", views.console_logout, name="console-logout"),
    path("api/admin/login", api.ConsoleLoginApi.as_view(), name="console-api-login"),
    path("api/admin/logout", api.ConsoleLogoutApi.as_view(), name="console-api-logout"),
]
