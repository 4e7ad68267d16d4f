from django.urls import path

from inventory.api import DetectWarehouseApi, ProductDetailApi, ProductListApi

urlpatterns = [
    path("api/products", ProductListApi.as_view(), name="api-products"),
    path("api/products/<str:product_id>", ProductDetailApi.as_view(), name="api-product"),
    path("api/detect-warehouse", DetectWarehouseApi.as_view(), name="api-detect-warehouse"),
]
