"""The console's live dashboard: the shop's totals with week sparklines, the last 7 days by
status, the reservation split, the most reserved products, stock utilisation, then the live
rates, conversion, a per-minute chart and low stock."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.access import staff_required
from console.dashboard import display, selectors
from console.dashboard.forms import PERIOD_LABELS, DashboardPeriodForm

POLL_SECONDS = 5


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the dashboard; htmx's poll every POLL_SECONDS gets only the live section."""
    period = DashboardPeriodForm(request.GET).chosen_period()
    figures = selectors.dashboard(period=period)
    stats = selectors.stats()
    split = display.split(stats)
    hold_minutes = settings.RESERVATION_TTL_SECONDS // 60
    context = {
        "figures": figures,
        "chart_data": display.minute_chart_data(figures.chart),
        "stats": stats,
        "week_data": display.week_chart_data(stats),
        "week_rows": display.week_rows(stats),
        "sparklines": display.week_sparklines(stats),
        "split": split,
        "split_data": display.split_chart_data(split),
        "overall_use": display.overall_use(stats),
        "warehouse_use": selectors.warehouse_utilisation(),
        "period": period,
        "period_label": PERIOD_LABELS[period],
        "periods": PERIOD_LABELS.items(),
        "poll_seconds": POLL_SECONDS,
        "active_holds_note": f"pending, each held up to {hold_minutes} min",
    }
    template = "console/dashboard/dashboard.html"
    if _wants_partial(request):
        template += "#dashboard-live"
    return render(request, template, context)
