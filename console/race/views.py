"""The race demo page: pick N shoppers, race them under three strategies, read the results.

GET shows the form, one run's results (`?run=<id>`, else the latest) and the past runs. POST
runs a race and redirects to its results; an htmx POST gets the results partial instead and
the new URL pushed. A past run's link (`?run=`) swaps only the results under htmx.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from console.access import staff_required
from console.race import selectors, services
from console.race.engine import MAX_CONNECTIONS, NAIVE_THINK_SECONDS
from console.race.explanations import explain
from console.race.forms import RaceForm
from console.race.models import RaceRun
from core.errors import StockdError

TEMPLATE = "console/race/race.html"


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _context(form: RaceForm, shown: RaceRun | None, error_message: str = "") -> dict:
    outcomes = []
    if shown is not None:
        outcomes = [{**o, "explanation": explain(o)} for o in shown.outcomes]
    return {
        "form": form,
        "shown": shown,
        "error_message": error_message,
        "outcomes": outcomes,
        "past_runs": selectors.past_runs(),
        "unavailable": services.unavailable_strategies(),
        "max_connections": MAX_CONNECTIONS,
        "think_ms": round(NAIVE_THINK_SECONDS * 1000),
    }


@staff_required
@require_http_methods(["GET", "POST"])
def race_page(request: HttpRequest) -> HttpResponse:
    """Show the race demo; on POST race the chosen number of shoppers for the last unit."""
    if request.method == "GET":
        shown = selectors.run_to_show(request.GET.get("run"))
        context = _context(RaceForm(), shown)
        if _wants_partial(request):
            return render(request, f"{TEMPLATE}#race-results", context)
        return render(request, TEMPLATE, context)

    form = RaceForm(request.POST)
    if not form.is_valid():
        context = _context(form, selectors.run_to_show(None))
        if _wants_partial(request):
            # The errors belong beside the field: the form replaces itself (the page lets
            # htmx swap a 400, see console/_swap_errors.html).
            response = render(request, f"{TEMPLATE}#race-form", context, status=400)
            response["HX-Retarget"] = "#race-form"
            response["HX-Reswap"] = "outerHTML"
            return response
        return render(request, TEMPLATE, context, status=400)
    try:
        run = services.run_race(concurrency=form.cleaned_data["shoppers"], user=request.user)
    except StockdError as refused:
        if _wants_partial(request):
            shown = selectors.run_to_show(None)
            return render(
                request, f"{TEMPLATE}#race-results", _context(RaceForm(), shown, refused.detail)
            )
        messages.error(request, refused.detail)
        return redirect("console-race")
    url = f"{reverse('console-race')}?run={run.pk}"
    if _wants_partial(request):
        response = render(request, f"{TEMPLATE}#race-results", _context(RaceForm(), run))
        response["HX-Push-Url"] = url
        return response
    return redirect(url)
