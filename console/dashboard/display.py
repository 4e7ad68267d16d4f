"""The dashboard's figures shaped for display: chart data for Chart.js (sent as JSON), SVG
sparkline points, the reservation split and the utilisation of all warehouses together."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.dateformat import format as format_date

from console.dashboard.selectors import ChartPoint, Stats, StockUse

SPARK_WIDTH = 96
SPARK_HEIGHT = 32
STATUSES = ("confirmed", "pending", "released")


@dataclass(frozen=True)
class Sparkline:
    """A week of one status as an SVG polyline, with the figures in words for screen readers."""

    points: str
    values: list[int]

    @property
    def summary(self) -> str:
        return ", ".join(str(value) for value in self.values)


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    percent: int


def minute_chart_data(points: list[ChartPoint]) -> dict:
    """The per-minute chart's labels (local time) and series."""
    return {
        "labels": [timezone.localtime(p.minute).strftime("%H:%M") for p in points],
        "reserved": [p.reserved for p in points],
        "confirmed": [p.confirmed for p in points],
        "expired": [p.expired for p in points],
    }


def _day_labels(stats: Stats) -> list[str]:
    return [format_date(date.fromisoformat(day["date"]), "D j M") for day in stats.chart]


def week_chart_data(stats: Stats) -> dict:
    """The 7-day stacked bar chart's day labels and one series per status."""
    return {
        "labels": _day_labels(stats),
        **{status: [day[status] for day in stats.chart] for status in STATUSES},
    }


def week_rows(stats: Stats) -> list[dict]:
    """The 7 days as table rows (the chart's text alternative): label and count per status."""
    return [
        {"label": label, **day} for label, day in zip(_day_labels(stats), stats.chart, strict=True)
    ]


def sparkline(values: list[int]) -> Sparkline:
    """Scale `values` into a SPARK_WIDTH x SPARK_HEIGHT box, the largest at the top."""
    top = max(values, default=0) or 1
    step = SPARK_WIDTH / max(len(values) - 1, 1)
    inner = SPARK_HEIGHT - 4  # 2 px of room above and below for the line's width
    points = " ".join(
        f"{round(i * step, 1)},{round(SPARK_HEIGHT - 2 - value * inner / top, 1)}"
        for i, value in enumerate(values)
    )
    return Sparkline(points=points, values=values)


def week_sparklines(stats: Stats) -> dict[str, Sparkline]:
    """A sparkline for each status over the 7 days of the chart."""
    return {status: sparkline([day[status] for day in stats.chart]) for status in STATUSES}


def split(stats: Stats) -> list[Share]:
    """Every hold by status, with each status's whole percent of all of them."""
    total = stats.totals["reservations"]
    return [
        Share(label, stats.totals[key], round(stats.totals[key] * 100 / total) if total else 0)
        for key, label in (
            ("confirmed", "Confirmed"),
            ("pending", "Pending"),
            ("released", "Released"),
        )
    ]


def split_chart_data(shares: list[Share]) -> dict:
    """The donut's labels and counts."""
    return {"labels": [s.label for s in shares], "counts": [s.count for s in shares]}


def overall_use(stats: Stats) -> StockUse:
    """Held and total units across every warehouse."""
    return StockUse(
        place="All warehouses",
        total=stats.totals["totalStock"],
        reserved=stats.totals["reservedStock"],
    )
