from django.urls import path

from storefront import views

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("checkout/<uuid:reservation_id>/", views.checkout, name="checkout"),
]
