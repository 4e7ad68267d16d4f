"""The dashboard's figures and the staff API's stats, each computed by database aggregation.

They never lock and never write; each figure is one aggregate query whatever the number of
rows, so the page's query count is fixed (tests pin it).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncMinute
from django.utils import timezone

from inventory.models import Inventory, Product
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from warehouses.models import Warehouse

EventType = ReservationEvent.Type
Status = Reservation.Status

RATE_WINDOW = timedelta(minutes=10)
HOUR = timedelta(hours=1)
CHART_MINUTES = 30
LOW_STOCK_SHOWN = 20
STATS_DAYS = 7
TOP_PRODUCTS = 5
PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
DEFAULT_PERIOD = "24h"


@dataclass(frozen=True)
class ChartPoint:
    minute: datetime
    reserved: int
    confirmed: int
    expired: int


@dataclass(frozen=True)
class Dashboard:
    units_held: int
    reserved_last_10_minutes: int
    confirmed_last_hour: int
    expired_last_hour: int
    period: str
    confirmed_in_period: int
    released_in_period: int
    low_stock_count: int
    low_stock: list[Inventory]
    chart: list[ChartPoint]

    @property
    def reservations_per_minute(self) -> float:
        return self.reserved_last_10_minutes / (RATE_WINDOW.total_seconds() / 60)

    @property
    def conversion(self) -> float | None:
        """confirmed / (confirmed + released) in the period, or None before any hold ended."""
        ended = self.confirmed_in_period + self.released_in_period
        return self.confirmed_in_period / ended if ended else None


def _low_stock_rows():
    """Sellable rows annotated with available_units and alert_at, those at or under it."""
    return (
        Inventory.objects.sellable()
        .with_available()
        .annotate(
            alert_at=Coalesce(
                F("low_stock_threshold"),
                Value(settings.LOW_STOCK_THRESHOLD),
                output_field=IntegerField(),
            )
        )
        .filter(available_units__lte=F("alert_at"))
    )


def _count(event_type: str, since: datetime) -> Count:
    return Count("pk", filter=Q(type=event_type, created_at__gte=since))


def minute_chart(*, now: datetime, minutes: int = CHART_MINUTES) -> list[ChartPoint]:
    """Return reservations, confirmations and expiries per minute for the last `minutes`,
    oldest first, with empty minutes as zeros (one query)."""
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(minutes=minutes - 1)
    rows = (
        ReservationEvent.objects.filter(
            created_at__gte=start,
            type__in=[EventType.RESERVED, EventType.CONFIRMED, EventType.EXPIRED],
        )
        .annotate(minute=TruncMinute("created_at"))
        .values("minute")
        .annotate(
            reserved=_count(EventType.RESERVED, start),
            confirmed=_count(EventType.CONFIRMED, start),
            expired=_count(EventType.EXPIRED, start),
        )
        .order_by()
    )
    by_minute = {row["minute"]: row for row in rows}
    points = []
    for step in range(minutes):
        minute = start + timedelta(minutes=step)
        row = by_minute.get(minute, {})
        points.append(
            ChartPoint(
                minute=minute,
                reserved=row.get("reserved", 0),
                confirmed=row.get("confirmed", 0),
                expired=row.get("expired", 0),
            )
        )
    return points


def dashboard(*, period: str = DEFAULT_PERIOD, now: datetime | None = None) -> Dashboard:
    """Return the dashboard's figures as of `now` (five queries, whatever the data).

    Conversion counts the holds made in the `period` (a PERIODS key) that have ended:
    confirmed / (confirmed + released, for any reason); holds still pending are left out.
    """
    now = now or timezone.now()
    since = now - PERIODS[period]
    stock = Inventory.objects.aggregate(
        held=Coalesce(Sum("reserved_stock"), 0),
        low=Count("pk", filter=Q(pk__in=_low_stock_rows().values("pk"))),
    )
    events = ReservationEvent.objects.filter(created_at__gte=now - HOUR).aggregate(
        reserved=_count(EventType.RESERVED, now - RATE_WINDOW),
        confirmed=_count(EventType.CONFIRMED, now - HOUR),
        expired=_count(EventType.EXPIRED, now - HOUR),
    )
    ended = Reservation.objects.filter(created_at__gte=since).aggregate(
        confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
        released=Count("pk", filter=Q(status=Status.RELEASED)),
    )
    low_stock = list(
        _low_stock_rows()
        .select_related("product", "warehouse")
        .order_by("available_units", "product__name", "warehouse__city", "pk")[:LOW_STOCK_SHOWN]
    )
    return Dashboard(
        units_held=stock["held"],
        reserved_last_10_minutes=events["reserved"],
        confirmed_last_hour=events["confirmed"],
        expired_last_hour=events["expired"],
        period=period,
        confirmed_in_period=ended["confirmed"],
        released_in_period=ended["released"],
        low_stock_count=stock["low"],
        low_stock=low_stock,
        chart=minute_chart(now=now),
    )


@dataclass(frozen=True)
class Stats:
    totals: dict[str, int]
    chart: list[dict]
    top_products: list[dict]


def stats(*, today: date | None = None) -> Stats:
    """Return the staff API's totals, holds per day and status for the last STATS_DAYS days
    (by the day each hold was made, in TIME_ZONE), and the most reserved products."""
    today = today or timezone.localdate()
    first_day = today - timedelta(days=STATS_DAYS - 1)
    holds = Reservation.objects.aggregate(
        reservations=Count("pk"),
        pending=Count("pk", filter=Q(status=Status.PENDING)),
        confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
        released=Count("pk", filter=Q(status=Status.RELEASED)),
    )
    stock = Inventory.objects.aggregate(
        totalStock=Coalesce(Sum("total_stock"), 0),
        reservedStock=Coalesce(Sum("reserved_stock"), 0),
    )
    totals = {
        "products": Product.objects.active().count(),
        "warehouses": Warehouse.objects.filter(active=True).count(),
        **holds,
        "waitlist": WaitlistEntry.objects.filter(status=WaitlistEntry.Status.WAITING).count(),
        **stock,
    }
    start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    per_day = {
        row["day"]: row
        for row in Reservation.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
            released=Count("pk", filter=Q(status=Status.RELEASED)),
            pending=Count("pk", filter=Q(status=Status.PENDING)),
        )
        .order_by()
    }
    chart = []
    for step in range(STATS_DAYS):
        day = first_day + timedelta(days=step)
        row = per_day.get(day, {})
        chart.append(
            {
                "date": day.isoformat(),
                "confirmed": row.get("confirmed", 0),
                "released": row.get("released", 0),
                "pending": row.get("pending", 0),
            }
        )
    top = list(
        Reservation.objects.values("product_id", "product__name", "product__category")
        .annotate(reservations=Count("pk"))
        .order_by("-reservations", "product__name", "product_id")[:TOP_PRODUCTS]
    )
    return Stats(totals=totals, chart=chart, top_products=top)


@dataclass(frozen=True)
class StockUse:
    """How much of a place's stock (a warehouse, or all of them) shoppers hold right now."""

    place: str
    total: int
    reserved: int

    @property
    def percent(self) -> int:
        return round(self.reserved * 100 / self.total) if self.total else 0


def warehouse_utilisation() -> list[StockUse]:
    """Return each active warehouse's total and held units, by city (one query)."""
    rows = (
        Warehouse.objects.active()
        .annotate(
            total=Coalesce(Sum("inventory__total_stock"), 0),
            reserved=Coalesce(Sum("inventory__reserved_stock"), 0),
        )
        .order_by("city", "pk")
        .values_list("city", "total", "reserved")
    )
    return [StockUse(place=city, total=total, reserved=reserved) for city, total, reserved in rows]
