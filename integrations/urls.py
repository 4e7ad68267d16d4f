from django.urls import path

from integrations.stock_api import (
    StockAdjustmentsApi,
    StockLedgerApi,
    StockLevelApi,
    StockLevelsApi,
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
]
