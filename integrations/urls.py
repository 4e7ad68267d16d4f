from django.urls import path

from integrations.availability_api import AvailabilityApi
from integrations.preorders_api import PreorderTermsApi
from integrations.sales_api import AllocationApi, AllocationsApi, ChannelsApi, PolicyApi
from integrations.stock_api import (
    StockAdjustmentsApi,
    StockLedgerApi,
    StockLevelApi,
    StockLevelsApi,
)
from integrations.transfers_api import (
    TransferApi,
    TransferCancelApi,
    TransferReceiveApi,
    TransfersApi,
    TransferShipApi,
)
from integrations.webhooks_api import (
    EventsApi,
    WebhookApi,
    WebhookDeliveriesApi,
    WebhookRedeliverApi,
    WebhooksApi,
)

urlpatterns = [
    path("api/stock/levels", StockLevelsApi.as_view(), name="api-stock-levels"),
    path(
        "api/stock/levels/<str:product_id>/<str:warehouse_id>",
        StockLevelApi.as_view(),
        name="api-stock-level",
    ),
    path("api/stock/adjustments", StockAdjustmentsApi.as_view(), name="api-stock-adjustments"),
    path("api/stock/ledger", StockLedgerApi.as_view(), name="api-stock-ledger"),
    path(
        "api/stock/preorders/<str:product_id>/<str:warehouse_id>",
        PreorderTermsApi.as_view(),
        name="api-stock-preorders",
    ),
    path("api/transfers", TransfersApi.as_view(), name="api-transfers"),
    path("api/transfers/<str:transfer_id>", TransferApi.as_view(), name="api-transfer"),
    path(
        "api/transfers/<str:transfer_id>/ship", TransferShipApi.as_view(), name="api-transfer-ship"
    ),
    path(
        "api/transfers/<str:transfer_id>/receive",
        TransferReceiveApi.as_view(),
        name="api-transfer-receive",
    ),
    path(
        "api/transfers/<str:transfer_id>/cancel",
        TransferCancelApi.as_view(),
        name="api-transfer-cancel",
    ),
    path("api/webhooks", WebhooksApi.as_view(), name="api-webhooks"),
    path("api/webhooks/<str:webhook_id>", WebhookApi.as_view(), name="api-webhook"),
    path(
        "api/webhooks/<str:webhook_id>/deliveries",
        WebhookDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "api/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/retry",
        WebhookRedeliverApi.as_view(),
        name="api-webhook-redeliver",
    ),
    path("api/events", EventsApi.as_view(), name="api-events"),
    path("api/policies/products/<str:product_id>", PolicyApi.as_view(), name="api-policy"),
    path("api/channels", ChannelsApi.as_view(), name="api-channels"),
    path(
        "api/channels/<str:code>/allocations",
        AllocationsApi.as_view(),
        name="api-channel-allocations",
    ),
    path(
        "api/channels/<str:code>/allocations/<str:product_id>",
        AllocationApi.as_view(),
        name="api-channel-allocation",
    ),
    path("api/availability", AvailabilityApi.as_view(), name="api-availability"),
]
