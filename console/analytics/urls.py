from django.urls import path

from console.analytics import views

urlpatterns = [
    path("admin/analytics/", views.analytics_page, name="console-analytics"),
]
