from django.urls import path

from console.integrations import views

urlpatterns = [
    path("admin/integrations/", views.keys, name="console-integrations"),
    path(
        "admin/integrations/keys/<int:key_id>/revoke",
        views.revoke,
        name="console-integrations-revoke",
    ),
]
