"""The console's reservations page: every hold, filtered and paged, and release by hand."""

from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from console.access import staff_required
from console.holds.forms import HoldFilterForm, ReleaseForm
from console.holds.selectors import HoldFilters, hold_list, holds_by_id
from reservations.models import Reservation
from reservations.services import transitions

PER_PAGE = 25
TEMPLATE = "console/holds/reservations.html"
CONFIRM_TEMPLATE = "console/holds/confirm_release.html"

Status = Reservation.Status
Reason = Reservation.ReleaseReason

_RELEASED = {
    Reason.EXPIRED: "Expired",
    Reason.CANCELLED: "Cancelled",
    Reason.ADMIN: "Released by staff",
    Reason.PAYMENT_FAILED: "Payment failed",
}


@dataclass(frozen=True)
class HoldRow:
    """A hold as the table shows it: its state in words and a badge tone."""

    reservation: Reservation
    label: str
    tone: str  # a badge class: warn, ok, off, bad
    releasable: bool

    @property
    def ended_at(self) -> datetime | None:
        return self.reservation.confirmed_at or self.reservation.released_at


def _row(reservation: Reservation, now: datetime) -> HoldRow:
    if reservation.status == Status.PENDING:
        # Not swept yet: releasing it by hand records it as expired.
        if reservation.is_due(now):
            return HoldRow(reservation, "Overdue", "off", releasable=True)
        return HoldRow(reservation, "Pending", "warn", releasable=True)
    if reservation.status == Status.CONFIRMED:
        return HoldRow(reservation, "Confirmed", "ok", releasable=False)
    label = _RELEASED.get(reservation.release_reason, "Released")
    tone = "bad" if reservation.release_reason == Reason.PAYMENT_FAILED else "off"
    return HoldRow(reservation, label, tone, releasable=False)


def _list_context(query: QueryDict) -> dict:
    """Build the list for the filters and page number in `query` (invalid filters are shown
    with their errors and ignored)."""
    form = HoldFilterForm(query)
    filters = form.filters() if form.is_valid() else HoldFilters()
    page = Paginator(hold_list(filters), PER_PAGE).get_page(query.get("page"))
    now = timezone.now()
    without_page = query.copy()
    without_page.pop("page", None)
    return {
        "form": form,
        "page": page,
        "rows": [_row(r, now) for r in page.object_list],
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1),
        "query": without_page.urlencode(),
        "back": query.urlencode(),
    }


@require_GET
@staff_required
def reservations(request: HttpRequest) -> HttpResponse:
    """List every hold, newest first, filtered and a page at a time; htmx gets only the list."""
    template = TEMPLATE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#hold-list"
    response = render(request, template, _list_context(request.GET))
    patch_vary_headers(response, ["HX-Request"])
    return response


def _short(reservation_id) -> str:
    return str(reservation_id)[:8]


def _report(request: HttpRequest, outcome: transitions.StaffRelease) -> None:
    """Say in messages what a release by hand did, hold by hold."""
    if outcome.released:
        units = sum(r.quantity for r in outcome.released)
        count = len(outcome.released)
        messages.success(
            request,
            f"Released {count} hold{'s' if count != 1 else ''} ({units} "
            f"unit{'s' if units != 1 else ''} back in stock): "
            + ", ".join(_short(r.pk) for r in outcome.released)
            + ".",
        )
    if outcome.expired:
        messages.warning(
            request,
            "Time was already up for "
            + ", ".join(_short(r.pk) for r in outcome.expired)
            + ": released as expired.",
        )
    for reservation_id, why in outcome.refused:
        messages.error(request, f"Not released {_short(reservation_id)}: {why}.")
    if outcome.promotions:
        count = len(outcome.promotions)
        messages.info(
            request,
            f"{count} waiting shopper{'s' if count != 1 else ''} got the freed units.",
        )


def _ask_to_confirm(request: HttpRequest, form: ReleaseForm) -> HttpResponse:
    """Show the holds about to be released, their units and shoppers, with a confirm button."""
    now = timezone.now()
    rows = [_row(r, now) for r in holds_by_id(form.cleaned_data["reservation_ids"])]
    releasable = [row for row in rows if row.releasable]
    context = {
        "rows": rows,
        "ids": form.cleaned_data["reservation_ids"],
        "releasable": len(releasable),
        "units": sum(row.reservation.quantity for row in releasable),
        "back": form.cleaned_data["back"],
    }
    return render(request, CONFIRM_TEMPLATE, context)


@require_POST
@staff_required
def release(request: HttpRequest) -> HttpResponse:
    """Release the chosen PENDING holds by hand (reason ADMIN), then show the list again.

    Without `confirm` nothing is released yet: the answer lists the holds and asks. Confirmed
    and released holds are refused, named in a message, and left as they were.
    """
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        context = _list_context(QueryDict(request.POST.get("back", "")[:2000]))
        return render(request, TEMPLATE, context, status=HTTPStatus.BAD_REQUEST)
    if not form.cleaned_data["confirm"]:
        return _ask_to_confirm(request, form)
    outcome = transitions.release_by_staff(
        reservation_ids=form.cleaned_data["reservation_ids"], user=request.user
    )
    _report(request, outcome)
    page = reverse("console-reservations")
    query = form.cleaned_data["back"]
    # 303: the browser (and htmx) follows with a GET of the list it came from.
    return HttpResponseRedirect(f"{page}?{query}" if query else page, status=HTTPStatus.SEE_OTHER)
