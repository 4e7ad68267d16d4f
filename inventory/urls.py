from django.urls import path

from inventory.api import ProductDetailApi, ProductListApi

urlpatterns = [
    path("api/products", ProductListApi.as_view(), name="api-products"),
    path("api/products/<str:product_id>", ProductDetailApi.as_view(), name="api-product"),
]
