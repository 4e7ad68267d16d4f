from django.urls import path

from adminpanel.analytics import views

urlpatterns = [
    path("admin/analytics/", views.analytics_page, name="console-analytics"),
]
