from django.urls import path

from console.holds import views

urlpatterns = [
    path("admin/reservations/", views.reservations, name="console-reservations"),
    path("admin/reservations/release/", views.release, name="console-reservations-release"),
]
