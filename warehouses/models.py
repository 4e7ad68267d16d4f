from django.db import models


class WarehouseQuerySet(models.QuerySet):
    def active(self) -> "WarehouseQuerySet":
        return self.filter(active=True)


class Warehouse(models.Model):
    """A place that holds stock, with coordinates for routing shoppers to the nearest one."""

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=120)
    location = models.CharField(max_length=200)
    city = models.CharField(max_length=80)
    lat = models.FloatField()
    lng = models.FloatField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WarehouseQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lat__gte=-90, lat__lte=90), name="warehouse_lat_in_range"
            ),
            models.CheckConstraint(
                condition=models.Q(lng__gte=-180, lng__lte=180), name="warehouse_lng_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
