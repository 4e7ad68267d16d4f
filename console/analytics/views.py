"""The analytics page: reserve -> confirm conversion, expiry and cancel rates, time to confirm."""

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.access import staff_required
from console.analytics.forms import PRESETS, PeriodForm, default_period
from console.analytics.selectors import Analytics, Outcomes, analytics


def _seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds(), 1)


def _chart_data(figures: Analytics) -> dict:
    """The figures the charts draw, as plain JSON for json_script."""

    def warehouse(row: Outcomes) -> dict:
        return {
            "label": row.label,
            "city": row.short_label,
            "holds": row.holds,
            "conversion": row.conversion_percent,
            "expiryRate": row.expiry_percent,
            "cancelRate": row.cancel_percent,
            "medianSeconds": _seconds(row.median_to_confirm),
            "averageSeconds": _seconds(row.average_to_confirm),
        }

    return {
        "byWarehouse": [warehouse(row) for row in figures.by_warehouse],
        "byDay": [
            {
                "date": day.day.isoformat(),
                "confirmed": day.confirmed,
                "expired": day.expired,
                "cancelled": day.cancelled,
                "otherReleased": day.other_released,
                "pending": day.pending,
            }
            for day in figures.by_day
        ],
        "timeToConfirm": [
            {"label": label, "count": count} for label, count in figures.time_to_confirm
        ],
    }


@require_GET
@staff_required
def analytics_page(request: HttpRequest) -> HttpResponse:
    """Show what became of the holds created in the chosen period (default: the last 7 days).

    Bad period input (unparseable dates, the end before the start, over a year) is named in
    a message and the default period is shown instead.
    """
    form = PeriodForm(request.GET)
    if form.is_valid():
        period, label = form.period()
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        period, label = default_period()
        messages.warning(request, f"Showing the default period instead: {label.lower()}.")
    figures = analytics(period=period)
    context = {
        "form": form,
        "figures": figures,
        "period_label": label,
        "presets": [(key, name) for key, (name, _) in PRESETS.items()],
        "chosen_preset": form.chosen_preset,
        "tables": [
            ("By warehouse", figures.by_warehouse, "Warehouse", "by-warehouse"),
            ("By category", figures.by_category, "Category", "by-category"),
        ],
        "chart_data": _chart_data(figures),
    }
    return render(request, "console/analytics/analytics.html", context)
