import logging
import signal
import time

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from idempotency.store import purge_expired_keys
from reservations.services.sweeps import expire_due_reservations

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Release every reservation whose time is up (and purge Idempotency-Keys older than "
        "24 h), once or every N seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            metavar="N",
            help="Keep running, sweeping every N seconds (for hosts without Celery beat).",
        )

    def handle(self, *args, every: int | None = None, **options) -> None:
        if every is not None and every < 1:
            self.stderr.write("--every takes a whole number of seconds, at least 1.")
            raise SystemExit(2)
        if every is None:
            self._sweep()
            return
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"Sweeping due reservations every {every}s (Ctrl-C to stop).")
        self.stdout.flush()  # a long-running loop's log must show up at once, even in a file
        try:
            while not stopping:
                self._sweep_and_survive(every)
                deadline = time.monotonic() + every
                while not stopping and time.monotonic() < deadline:
                    time.sleep(min(1.0, every))
        except KeyboardInterrupt:
            pass

    def _sweep_and_survive(self, every: int) -> None:
        """Sweep once; if it fails, log why and drop every connection, so the next one works.

        A long-running loop must outlive one bad sweep (a terminated backend, a restarted or
        unreachable database): the holds it did not release are still due at the next turn.
        """
        try:
            self._sweep()
        except Exception:
            logger.exception("The sweep failed; sweeping again in %ss.", every)
            connections.close_all()  # a broken connection would fail every later sweep
        else:
            close_old_connections()

    def _sweep(self) -> None:
        released = expire_due_reservations(actor="system:command")
        purged = purge_expired_keys()
        self.stdout.write(
            f"Released {released} expired reservation(s). Purged {purged} idempotency key(s)."
        )
        self.stdout.flush()
