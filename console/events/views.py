"""The console's event log: the audit log filtered and paged, a live tail, and CSV export."""

import csv
import json
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from console.access import staff_required
from console.events.forms import EventFilterForm, TailForm
from console.events.selectors import (
    EventFilters,
    event_chunks,
    event_list,
    events_after,
    newest_event_id,
)
from reservations.models import ReservationEvent

PER_PAGE = 50
TAIL_SECONDS = 2
TEMPLATE = "console/events/events.html"

CSV_COLUMNS = [
    "id",
    "created_at",
    "type",
    "product_id",
    "product_sku",
    "product_name",
    "warehouse_id",
    "warehouse_code",
    "quantity",
    "reservation_id",
    "actor",
    "payload",
]


def _filters(form: EventFilterForm) -> EventFilters:
    return form.filters() if form.is_valid() else EventFilters()


@require_GET
@staff_required
def events(request: HttpRequest) -> HttpResponse:
    """List the audit log newest first, filtered, a page at a time; htmx gets only the log.

    The first page polls for newer events (the live tail). Invalid filters are shown with
    their errors and ignored.
    """
    form = EventFilterForm(request.GET)
    # Read before the page, so an event written in between is picked up by the tail.
    newest_id = newest_event_id()
    page = Paginator(event_list(_filters(form)).filter(id__lte=newest_id), PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1),
        "query": query.urlencode(),
        "after": newest_id,
        "live": page.number == 1,
        "tail_seconds": TAIL_SECONDS,
    }
    template = TEMPLATE
    if request.htmx and not request.htmx.history_restore_request:
        template += "#event-log"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@staff_required
def tail(request: HttpRequest) -> HttpResponse:
    """Answer the events newer than `?after=` that match the page's filters, newest first,
    as table rows headed by the poller that asks for the next ones.

    Answer 400 (and nothing to swap) for a missing or malformed `after` or bad filters.
    """
    form = TailForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "Bad live-tail request.", status=HTTPStatus.BAD_REQUEST, content_type="text/plain"
        )
    after = form.cleaned_data["after"]
    newer = events_after(form.filters(), after_id=after)
    query = request.GET.copy()
    query.pop("after", None)
    context = {
        "events": newer,
        "after": newer[0].id if newer else after,
        "query": query.urlencode(),
        "tail_seconds": TAIL_SECONDS,
    }
    return render(request, "console/events/tail.html", context)


def _cell(value: str) -> str:
    """Keep a spreadsheet from running text as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_row(event: ReservationEvent) -> list:
    return [
        event.id,
        event.created_at.isoformat(),
        event.type,
        event.product_id,
        _cell(event.product.sku),
        _cell(event.product.name),
        event.warehouse_id,
        _cell(event.warehouse.code),
        "" if event.quantity is None else event.quantity,
        event.reservation_id or "",
        _cell(event.actor),
        json.dumps(event.payload, sort_keys=True, separators=(",", ":")),
    ]


class _Line:
    """A file-like object csv.writer writes one row into, handing the text back."""

    def write(self, text: str) -> str:
        return text


def _csv_lines(filters: EventFilters) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for chunk in event_chunks(filters):
        yield "".join(writer.writerow(_csv_row(event)) for event in chunk)


async def _one_at_a_time_off_the_loop(lines: Iterator[str]) -> AsyncIterator[str]:
    take = sync_to_async(next)
    while (line := await take(lines, None)) is not None:
        yield line


@require_GET
@staff_required
def events_csv(request: HttpRequest) -> HttpResponse:
    """Stream the filtered log as CSV, newest first, a chunk of rows at a time.

    Bad filters answer 400 rather than exporting everything.
    """
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "Bad filters: " + "; ".join(e for errors in form.errors.values() for e in errors),
            status=HTTPStatus.BAD_REQUEST,
            content_type="text/plain; charset=utf-8",
        )
    name = f"stockd-events-{timezone.now():%Y%m%d-%H%M%S}.csv"
    lines = _csv_lines(form.filters())
    if isinstance(request, ASGIRequest):
        # An ASGI server buffers a sync iterator whole before the first byte: read each chunk
        # on the request's thread instead, between sends.
        lines = _one_at_a_time_off_the_loop(lines)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
