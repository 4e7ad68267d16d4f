import time

from django.core.management.base import BaseCommand, CommandParser

from integrations import delivery, dispatch
from integrations.models import Webhook


class Command(BaseCommand):
    help = (
        "Turn new stock ledger entries into outbound events and deliver due webhooks, once or "
        "--every N seconds (where no Celery beat runs, as under `make run`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=None, help="Repeat every N seconds.")

    def handle(self, *args, every: float | None = None, **options) -> None:
        while True:
            done = dispatch.dispatch_once(force=every is None)
            if done is not None and done.events:
                self.stdout.write(
                    f"{done.entries} entries: {done.events} events, {done.deliveries} deliveries."
                )
            for webhook_id in Webhook.objects.values_list("pk", flat=True):
                delivery.deliver_pending(webhook_id)
            if every is None:
                return
            time.sleep(every)
