from django.urls import path

from console.stock import views

urlpatterns = [
    path("admin/stock/", views.matrix, name="console-stock"),
    path("admin/stock/stock.csv", views.matrix_csv, name="console-stock-csv"),
]
