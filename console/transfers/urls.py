from django.urls import path

from console.transfers import views

urlpatterns = [
    path("admin/transfers/", views.transfers, name="console-transfers"),
    path("admin/transfers/<uuid:transfer_id>/", views.transfer, name="console-transfer"),
    path("admin/transfers/<uuid:transfer_id>/ship/", views.ship, name="console-transfer-ship"),
    path(
        "admin/transfers/<uuid:transfer_id>/receive/",
        views.receive,
        name="console-transfer-receive",
    ),
    path(
        "admin/transfers/<uuid:transfer_id>/cancel/",
        views.cancel,
        name="console-transfer-cancel",
    ),
]
