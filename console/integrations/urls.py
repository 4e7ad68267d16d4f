from django.urls import path

from console.integrations import views

urlpatterns = [
    path("admin/integrations/", views.keys, name="console-integrations"),
    path(
        "admin/integrations/keys/<int:key_id>/revoke",
        views.revoke,
        name="console-integrations-revoke",
    ),
    path("admin/integrations/webhooks/", views.webhook_list, name="console-webhooks"),
    path(
        "admin/integrations/webhooks/<int:webhook_id>/delete",
        views.webhook_delete,
        name="console-webhook-delete",
    ),
    path(
        "admin/integrations/webhooks/<int:webhook_id>/",
        views.webhook_deliveries,
        name="console-webhook-deliveries",
    ),
    path(
        "admin/integrations/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        views.webhook_redeliver,
        name="console-webhook-redeliver",
    ),
]
