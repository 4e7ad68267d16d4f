from django.conf import settings
from django.core.management.base import BaseCommand

from inventory.seed import seed


class Command(BaseCommand):
    help = "Load the warehouses, the 53-product catalogue, stock and the staff user (idempotent)."

    def handle(self, *args, **options) -> None:
        report = seed()
        self.stdout.write(
            f"Warehouses: {report.warehouses_created} created. "
            f"Products: {report.products_created} created. "
            f"Inventory rows: {report.inventory_created} created."
        )
        email = settings.STOCKD_ADMIN_EMAIL
        messages = {
            "created": f"Staff user {email} created.",
            "exists": f"Staff user {email} already exists; left unchanged.",
            "skipped": (
                f"No staff user created: set STOCKD_ADMIN_PASSWORD to create {email} "
                "(DEBUG is off, so the development password is not used)."
            ),
        }
        style = self.style.WARNING if report.staff_user == "skipped" else self.style.SUCCESS
        self.stdout.write(style(messages[report.staff_user]))
