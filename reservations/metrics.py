"""stockd's own Prometheus metrics: every one is defined here, and recorded through here.

Counters and histograms are kept by prometheus_client; under several processes (gunicorn
workers, the Celery worker) it keeps them in files under PROMETHEUS_MULTIPROC_DIR and /metrics
sums them (core.serving.prometheus, gunicorn.conf.py). The stock gauges (units held, holds past
their expiry) are not kept anywhere: `StockCollector` reads them from the database at scrape
time, so every process reports the same, current numbers.

Where each one is recorded:
- reservations by outcome: reservations.middleware, on the reserve route's answers;
- idempotent replays: reservations.middleware, on answers marked Idempotent-Replayed;
- holds released by reason, waitlist promotions: reservations.events, on commit;
- sweep duration and batch sizes: reservations.services.sweeps;
- coalesced batch sizes: the hold coalescer, through `observe_coalesced_batch`;
- open live streams: storefront.views.events.
"""

import logging
from collections import Counter as Tally
from collections.abc import Iterable, Iterator

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent

logger = logging.getLogger(__name__)

EventType = ReservationEvent.Type

RESERVATIONS = Counter(
    "stockd_reservations",
    "Answers of POST /api/reservations, by HTTP status (201 held, 409 short, ...).",
    ["status"],
)
HOLDS_RELEASED = Counter(
    "stockd_holds_released",
    "Holds that left PENDING without being confirmed, by release reason.",
    ["reason"],
)
WAITLIST_PROMOTIONS = Counter(
    "stockd_waitlist_promotions", "Waitlist entries promoted to a hold of their own."
)
IDEMPOTENT_REPLAYS = Counter(
    "stockd_idempotent_replays",
    "Requests answered from a stored Idempotency-Key response, by route.",
    ["route"],
)
SWEEP_DURATION = Histogram(
    "stockd_sweep_duration_seconds",
    "Time one expiry sweep took, all its batches, by who ran it.",
    ["actor"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SWEEP_BATCH_SIZE = Histogram(
    "stockd_sweep_batch_size",
    "Holds released by one batch (one transaction) of an expiry sweep.",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
COALESCED_BATCH_SIZE = Histogram(
    "stockd_coalesced_batch_size",
    "Holds admitted together in one statement and one commit by the hold coalescer.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
LIVE_STREAMS = Gauge(
    "stockd_live_streams_open",
    "Open live stock streams (GET /events/stock/), over all processes.",
    multiprocess_mode="livesum",
)


def count_reservation_outcome(status_code: int) -> None:
    """Count one answer of the reserve endpoint by its status."""
    RESERVATIONS.labels(str(status_code)).inc()


def count_idempotent_replay(route: str) -> None:
    """Count one request answered from its Idempotency-Key's stored response."""
    IDEMPOTENT_REPLAYS.labels(route).inc()


def observe_coalesced_batch(size: int) -> None:
    """Record how many holds one coalesced statement admitted together."""
    COALESCED_BATCH_SIZE.observe(size)


def observe_sweep_batch(size: int) -> None:
    """Record how many holds one sweep batch released."""
    SWEEP_BATCH_SIZE.observe(size)


def observe_sweep(actor: str, seconds: float) -> None:
    """Record how long a whole sweep (all its batches) run by `actor` took."""
    SWEEP_DURATION.labels(actor).observe(seconds)


def live_stream_opened() -> None:
    """Count one more open live stream (call live_stream_closed when it ends, in `finally`)."""
    LIVE_STREAMS.inc()


def live_stream_closed() -> None:
    """Count one live stream less."""
    LIVE_STREAMS.dec()


def count_committed_events(recorded: Iterable) -> None:
    """Count the releases and promotions among events whose transaction has committed
    (events.Announcement objects; events imports this module, so it is not named here)."""
    released: Tally[str] = Tally()
    promoted = 0
    for event in recorded:
        if event.type == EventType.EXPIRED:
            released[Reservation.ReleaseReason.EXPIRED] += 1
        elif event.type == EventType.RELEASED:
            released[str(event.reason or "UNKNOWN")] += 1
        elif event.type == EventType.WAITLIST_PROMOTED:
            promoted += 1
    for reason, count in released.items():
        HOLDS_RELEASED.labels(reason).inc(count)
    if promoted:
        WAITLIST_PROMOTIONS.inc(promoted)


class StockCollector(Collector):
    """Read the stock gauges from the database at scrape time (two indexed aggregates).

    stockd_units_held: units held by PENDING holds now (the sum of reserved_stock);
    stockd_holds_past_expiry: PENDING holds whose time is up, not yet released;
    stockd_oldest_hold_past_expiry_seconds: how long the oldest of them has been due (the
    sweep's lag; 0 when none is). A database that does not answer leaves them out.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        try:
            held = Inventory.objects.aggregate(units=Sum("reserved_stock"))["units"] or 0
            due = Reservation.objects.filter(
                status=Reservation.Status.PENDING, expires_at__lt=now
            ).aggregate(count=Count("pk"), oldest=Min("expires_at"))
        except Exception:
            logger.exception("metrics: the stock gauges could not be read")
            return
        lag = (now - due["oldest"]).total_seconds() if due["oldest"] is not None else 0.0
        yield GaugeMetricFamily(
            "stockd_units_held", "Units held by PENDING reservations now.", value=held
        )
        yield GaugeMetricFamily(
            "stockd_holds_past_expiry",
            "PENDING reservations past their expiry, not yet released.",
            value=due["count"],
        )
        yield GaugeMetricFamily(
            "stockd_oldest_hold_past_expiry_seconds",
            "Seconds since the oldest unreleased PENDING reservation expired (sweep lag).",
            value=lag,
        )
