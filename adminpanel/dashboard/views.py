"""The console's live dashboard: holds, rates, conversion, low stock and a per-minute chart."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from adminpanel.access import staff_required
from adminpanel.dashboard import selectors
from adminpanel.dashboard.forms import PERIOD_LABELS, DashboardPeriodForm

POLL_SECONDS = 5


def _chart_data(points: list[selectors.ChartPoint]) -> dict:
    return {
        "labels": [timezone.localtime(p.minute).strftime("%H:%M") for p in points],
        "reserved": [p.reserved for p in points],
        "confirmed": [p.confirmed for p in points],
        "expired": [p.expired for p in points],
    }


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Show the dashboard; htmx's poll every POLL_SECONDS gets only the live section."""
    period = DashboardPeriodForm(request.GET).chosen_period()
    figures = selectors.dashboard(period=period)
    context = {
        "figures": figures,
        "chart_data": _chart_data(figures.chart),
        "period": period,
        "period_label": PERIOD_LABELS[period],
        "periods": PERIOD_LABELS.items(),
        "poll_seconds": POLL_SECONDS,
    }
    template = "adminpanel/dashboard/dashboard.html"
    if _wants_partial(request):
        template += "#dashboard-live"
    return render(request, template, context)
