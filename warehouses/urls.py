from django.urls import path

from warehouses.api import WarehouseListApi

urlpatterns = [
    path("api/warehouses", WarehouseListApi.as_view(), name="api-warehouses"),
]
