"""Reserve -> confirm analytics: what became of the holds created in a period.

Every figure is an aggregate computed by the database (conditional COUNTs, AVG and the median
as PERCENTILE_CONT), one query per table or chart; no reservation row is read into Python.
A hold belongs to the period in which it was created, whenever its outcome came.
"""

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    Value,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Cast, NullIf, TruncDate
from django.utils import timezone

from reservations.models import Reservation

Status = Reservation.Status
Reason = Reservation.ReleaseReason

CONFIRMED = Q(status=Status.CONFIRMED)
EXPIRED = Q(status=Status.RELEASED, release_reason=Reason.EXPIRED)
CANCELLED = Q(status=Status.RELEASED, release_reason=Reason.CANCELLED)
# Released by staff or by a failed payment: neither the shopper's choice nor the clock.
OTHER_RELEASED = Q(status=Status.RELEASED) & ~Q(
    release_reason__in=[Reason.EXPIRED, Reason.CANCELLED]
)
PENDING = Q(status=Status.PENDING)

TIME_TO_CONFIRM = ExpressionWrapper(
    F("confirmed_at") - F("created_at"), output_field=DurationField()
)

# Upper bounds of the time-to-confirm histogram; the last bucket is open-ended.
CONFIRM_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("under 30 s", timedelta(seconds=30)),
    ("30 s – 1 min", timedelta(minutes=1)),
    ("1–2 min", timedelta(minutes=2)),
    ("2–5 min", timedelta(minutes=5)),
    ("5–10 min", timedelta(minutes=10)),
)
LAST_BUCKET = "over 10 min"


class _SqliteMedian:
    """A MEDIAN aggregate for SQLite (the embedded default), which has no PERCENTILE_CONT."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


class Median(Aggregate):
    """The continuous median of an expression: PERCENTILE_CONT(0.5) on PostgreSQL."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        connection.ensure_connection()
        # sqlite3 replaces an aggregate registered again under the same name: this is idempotent.
        connection.connection.create_aggregate("STOCKD_MEDIAN", 1, _SqliteMedian)
        plain = self.copy()
        plain.function, plain.template = "STOCKD_MEDIAN", "%(function)s(%(expressions)s)"
        return plain.as_sql(compiler, connection, **extra_context)


def _share(condition: Q) -> CombinedExpression:
    """The fraction of the group's holds that meet `condition`; NULL for an empty group."""
    return Cast(Count("id", filter=condition), FloatField()) / NullIf(
        Cast(Count("id"), FloatField()), Value(0.0)
    )


def _outcome_aggregates() -> dict:
    return {
        "holds": Count("id"),
        "confirmed": Count("id", filter=CONFIRMED),
        "expired": Count("id", filter=EXPIRED),
        "cancelled": Count("id", filter=CANCELLED),
        "other_released": Count("id", filter=OTHER_RELEASED),
        "pending": Count("id", filter=PENDING),
        "conversion": _share(CONFIRMED),
        "expiry_rate": _share(EXPIRED),
        "cancel_rate": _share(CANCELLED),
        "average_to_confirm": Avg(TIME_TO_CONFIRM, filter=CONFIRMED),
        "median_to_confirm": Median(
            TIME_TO_CONFIRM, filter=CONFIRMED, output_field=DurationField()
        ),
    }


@dataclass(frozen=True)
class Period:
    """Holds created from `start` (included) to `end` (excluded)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Outcomes:
    """What became of a group's holds: counts, rates (0..1, None without holds) and times."""

    label: str
    short_label: str
    holds: int
    confirmed: int
    expired: int
    cancelled: int
    other_released: int
    pending: int
    conversion: float | None
    expiry_rate: float | None
    cancel_rate: float | None
    average_to_confirm: timedelta | None
    median_to_confirm: timedelta | None

    @classmethod
    def from_row(cls, label: str, row: dict, *, short_label: str = "") -> "Outcomes":
        figures = {name: row[name] for name in _outcome_aggregates()}
        return cls(label=label, short_label=short_label or label, **figures)

    @property
    def conversion_percent(self) -> float | None:
        return _percent(self.conversion)

    @property
    def expiry_percent(self) -> float | None:
        return _percent(self.expiry_rate)

    @property
    def cancel_percent(self) -> float | None:
        return _percent(self.cancel_rate)

    @property
    def median_label(self) -> str:
        return duration_label(self.median_to_confirm)

    @property
    def average_label(self) -> str:
        return duration_label(self.average_to_confirm)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def duration_label(duration: timedelta | None) -> str:
    """Say a time to confirm the way people read it: "45 s", "2 min 5 s", "1 h 3 min"."""
    if duration is None:
        return "—"
    seconds = round(duration.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@dataclass(frozen=True)
class DayOutcomes:
    day: date
    confirmed: int
    expired: int
    cancelled: int
    other_released: int
    pending: int


@dataclass(frozen=True)
class Analytics:
    period: Period
    totals: Outcomes
    by_warehouse: list[Outcomes]
    by_category: list[Outcomes]
    by_day: list[DayOutcomes]
    time_to_confirm: list[tuple[str, int]]


def _created_in(period: Period):
    return Reservation.objects.filter(created_at__gte=period.start, created_at__lt=period.end)


def outcome_totals(*, period: Period) -> Outcomes:
    """Return the outcomes of every hold created in `period` (one query)."""
    row = _created_in(period).aggregate(**_outcome_aggregates())
    return Outcomes.from_row("All warehouses", row)


def outcomes_by_warehouse(*, period: Period) -> list[Outcomes]:
    """Return the outcomes per warehouse, the busiest first (one query)."""
    rows = (
        _created_in(period)
        .values("warehouse_id", "warehouse__name", "warehouse__city")
        .annotate(**_outcome_aggregates())
        .order_by("-holds", "warehouse__name", "warehouse_id")
    )
    return [
        Outcomes.from_row(row["warehouse__name"], row, short_label=row["warehouse__city"])
        for row in rows
    ]


def outcomes_by_category(*, period: Period) -> list[Outcomes]:
    """Return the outcomes per product category, the busiest first (one query)."""
    rows = (
        _created_in(period)
        .values("product__category")
        .annotate(**_outcome_aggregates())
        .order_by("-holds", "product__category")
    )
    return [Outcomes.from_row(row["product__category"], row) for row in rows]


def outcomes_by_day(*, period: Period) -> list[DayOutcomes]:
    """Return each day's outcomes (by the day the holds were created), empty days included."""
    rows = (
        _created_in(period)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            confirmed=Count("id", filter=CONFIRMED),
            expired=Count("id", filter=EXPIRED),
            cancelled=Count("id", filter=CANCELLED),
            other_released=Count("id", filter=OTHER_RELEASED),
            pending=Count("id", filter=PENDING),
        )
        .order_by("day")
    )
    found = {row.pop("day"): row for row in rows}
    empty = dict.fromkeys(("confirmed", "expired", "cancelled", "other_released", "pending"), 0)
    # Days as TruncDate sees them, in the current time zone. The period's end is excluded:
    # a period that ends at midnight has no hold on the day that starts then.
    first = timezone.localdate(period.start)
    last = timezone.localdate(period.end - timedelta(microseconds=1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayOutcomes(day=day, **found.get(day, empty)) for day in days]


def time_to_confirm_histogram(*, period: Period) -> list[tuple[str, int]]:
    """Return how many confirmed holds took how long, bucket by bucket (one query)."""
    counts: dict = {}
    lower = None
    for index, (_, upper) in enumerate(CONFIRM_BUCKETS):
        within = Q(confirmed_at__lt=F("created_at") + upper)
        if lower is not None:
            within &= Q(confirmed_at__gte=F("created_at") + lower)
        counts[f"bucket_{index}"] = Count("id", filter=CONFIRMED & within)
        lower = upper
    counts["bucket_last"] = Count(
        "id", filter=CONFIRMED & Q(confirmed_at__gte=F("created_at") + lower)
    )
    row = _created_in(period).aggregate(**counts)
    labels = [label for label, _ in CONFIRM_BUCKETS]
    return [(label, row[f"bucket_{i}"]) for i, label in enumerate(labels)] + [
        (LAST_BUCKET, row["bucket_last"])
    ]


def analytics(*, period: Period) -> Analytics:
    """Return every figure of the analytics page for `period` (five queries)."""
    return Analytics(
        period=period,
        totals=outcome_totals(period=period),
        by_warehouse=outcomes_by_warehouse(period=period),
        by_category=outcomes_by_category(period=period),
        by_day=outcomes_by_day(period=period),
        time_to_confirm=time_to_confirm_histogram(period=period),
    )
