from django.urls import path

from console.inventory import api, catalogue_views, import_views, views

urlpatterns = [
    path("admin/inventory/", views.inventory, name="console-inventory"),
    path(
        "admin/inventory/<int:inventory_id>/total",
        views.set_row_total,
        name="console-inventory-total",
    ),
    path(
        "admin/inventory/<int:inventory_id>/states",
        views.set_row_states,
        name="console-inventory-states",
    ),
    path(
        "admin/inventory/<int:inventory_id>/threshold",
        views.set_row_threshold,
        name="console-inventory-threshold",
    ),
    path("admin/inventory/products/", catalogue_views.products, name="console-products"),
    path("admin/inventory/products/new/", catalogue_views.product_add, name="console-product-add"),
    path(
        "admin/inventory/products/<int:product_id>/",
        catalogue_views.product_edit,
        name="console-product-edit",
    ),
    path("admin/inventory/warehouses/", catalogue_views.warehouses, name="console-warehouses"),
    path(
        "admin/inventory/warehouses/new/",
        catalogue_views.warehouse_add,
        name="console-warehouse-add",
    ),
    path(
        "admin/inventory/warehouses/<int:warehouse_id>/",
        catalogue_views.warehouse_edit,
        name="console-warehouse-edit",
    ),
    path("admin/inventory/import/", import_views.upload, name="console-inventory-import"),
    path(
        "admin/inventory/import/<str:token>/",
        import_views.job,
        name="console-inventory-import-job",
    ),
    path(
        "admin/inventory/import/<str:token>/check",
        import_views.check,
        name="console-inventory-import-check",
    ),
    path(
        "admin/inventory/import/<str:token>/apply",
        import_views.apply,
        name="console-inventory-import-apply",
    ),
    path("api/admin/inventory", api.InventoryApi.as_view(), name="api-admin-inventory"),
]
