"""Transfers in the console: the list (by state) with the new-transfer form, and a transfer's
page with its lines, its history and the step it may take next (ship, receive with damaged
units, cancel). Every change goes through transfers.services, as the transfers API's do; a
refusal is shown on the page it came from and changes nothing."""

import re
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST

from console.access import staff_required
from console.transfers import selectors
from console.transfers.forms import NewTransferForm, ReceiveForm, TransferLineFormSet
from core.errors import StockdError
from reservations.access import actor_for
from transfers import services
from transfers.errors import TransferNotFound
from transfers.models import Transfer

PER_PAGE = 25
LINES_PREFIX = "lines"

State = Transfer.State
RECEIVABLE = (State.IN_TRANSIT, State.PARTIALLY_RECEIVED)
CANCELLABLE = (State.DRAFT, State.IN_TRANSIT)

# The services name a line by its place and product id; the page shows the error on the line.
_LINE_PREFIX = re.compile(r"^Line \d+(?: \(product \d+\))?: ")


def _about_line(detail: str, name: str = "") -> str:
    """A refusal's sentence without the service's "Line 0 (product 12): ", led by `name`."""
    rest = _LINE_PREFIX.sub("", detail)
    if name:
        return f"{name}: {rest}"
    return rest[:1].upper() + rest[1:]


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _state(request: HttpRequest) -> str:
    """The state the list is filtered by: one of Transfer.State, or "" (all)."""
    state = request.GET.get("state", "")
    return state if state in State.values else ""


def _list_page(
    request: HttpRequest,
    form: NewTransferForm,
    lines: TransferLineFormSet,
    *,
    partial: bool = False,
    status: int = 200,
) -> HttpResponse:
    state = _state(request)
    page = Paginator(selectors.transfer_list(state), PER_PAGE).get_page(request.GET.get("page"))
    counts = selectors.state_counts()
    views = [{"key": "", "label": "All", "count": sum(counts.values()), "current": not state}]
    views += [
        {"key": key, "label": label, "count": counts[key], "current": key == state}
        for key, label in State.choices
    ]
    context = {
        "form": form,
        "lines": lines,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1),
        "query": f"state={state}" if state else "",
        "views": views,
    }
    template = "console/transfers/transfers.html"
    if partial:
        template += "#transfer-list"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _not_drafted(
    request: HttpRequest, form: NewTransferForm, lines: TransferLineFormSet
) -> HttpResponse:
    """The list again with the form's errors, said on top too: the form is under the list."""
    messages.error(request, "Nothing was drafted: see the new transfer's form below.")
    return _list_page(request, form, lines, status=400)


@require_http_methods(["GET", "POST"])
@staff_required
def transfers(request: HttpRequest) -> HttpResponse:
    """List transfers newest first (?state= one state); a POST makes a DRAFT transfer and
    opens its page, or shows the form again with why not."""
    if request.method == "GET":
        return _list_page(
            request,
            NewTransferForm(),
            TransferLineFormSet(prefix=LINES_PREFIX),
            partial=_wants_partial(request),
        )
    form = NewTransferForm(request.POST)
    lines = TransferLineFormSet(request.POST, prefix=LINES_PREFIX)
    if not (form.is_valid() and lines.is_valid()):
        return _not_drafted(request, form, lines)
    filled = lines.filled()
    try:
        transfer = services.create(
            source_id=form.cleaned_data["source"].pk,
            destination_id=form.cleaned_data["destination"].pk,
            lines=[line for _, line in filled],
            reference=form.cleaned_data["reference"],
            actor=actor_for(request.user),
        )
    except StockdError as error:
        index = error.extra.get("index")
        if isinstance(index, int) and 0 <= index < len(filled):
            filled[index][0].add_error("product", _about_line(error.detail))
        else:
            form.add_error(None, _about_line(error.detail))
        return _not_drafted(request, form, lines)
    messages.success(request, f"Transfer {_short(transfer.pk)} drafted: ship it when it leaves.")
    return redirect("console-transfer", transfer_id=transfer.pk)


def _short(transfer_id: uuid.UUID) -> str:
    return str(transfer_id)[:8]


def _detail(transfer_id: uuid.UUID) -> selectors.TransferDetail:
    detail = selectors.transfer_detail(transfer_id)
    if detail is None:
        raise Http404("No such transfer.")
    return detail


def _detail_page(
    request: HttpRequest,
    detail: selectors.TransferDetail,
    receive_form: ReceiveForm | None = None,
    *,
    status: int = 200,
    problem: int | None = None,
) -> HttpResponse:
    """A transfer's page; `problem` is the index of the line a refusal was about."""
    state = detail.transfer.state
    if receive_form is None and state in RECEIVABLE:
        receive_form = ReceiveForm(detail.lines)
    rows = receive_form.rows() if receive_form else [(x, None, None) for x in detail.lines]
    context = {
        "detail": detail,
        "transfer": detail.transfer,
        "rows": [(index == problem, *row) for index, row in enumerate(rows)],
        "receive_form": receive_form,
        "can_ship": state == State.DRAFT,
        "can_cancel": state in CANCELLABLE,
    }
    return render(request, "console/transfers/transfer.html", context, status=status)


@require_http_methods(["GET"])
@staff_required
def transfer(request: HttpRequest, transfer_id: uuid.UUID) -> HttpResponse:
    """Show a transfer: its state, lines, history and the steps it may take next."""
    return _detail_page(request, _detail(transfer_id))


def _refused(request: HttpRequest, transfer_id: uuid.UUID, error: StockdError) -> HttpResponse:
    """The transfer's page again with the refusal on top (and on its line), its status."""
    if isinstance(error, TransferNotFound):
        raise Http404(error.detail)
    detail = _detail(transfer_id)
    index = error.extra.get("index")
    problem = index if isinstance(index, int) and 0 <= index < len(detail.lines) else None
    name = detail.lines[problem].product.name if problem is not None else ""
    messages.error(request, _about_line(error.detail, name))
    return _detail_page(request, detail, status=int(error.status), problem=problem)


def _step(request: HttpRequest, transfer_id: uuid.UUID, service, done: str) -> HttpResponse:
    """Take a step on a transfer (`service`: ship or cancel); back to its page, saying `done`
    or why not."""
    try:
        service(transfer_id, actor=actor_for(request.user))
    except StockdError as error:
        return _refused(request, transfer_id, error)
    messages.success(request, done)
    return redirect("console-transfer", transfer_id=transfer_id)


@require_POST
@staff_required
def ship(request: HttpRequest, transfer_id: uuid.UUID) -> HttpResponse:
    """Ship a DRAFT transfer, every line or none; say why not on its page."""
    return _step(
        request,
        transfer_id,
        services.ship,
        "Shipped: the units left the source and are on their way.",
    )


@require_POST
@staff_required
def cancel(request: HttpRequest, transfer_id: uuid.UUID) -> HttpResponse:
    """Cancel a transfer (an in-transit one's units go back to the source); say why not."""
    return _step(request, transfer_id, services.cancel, "Cancelled.")


@require_POST
@staff_required
def receive(request: HttpRequest, transfer_id: uuid.UUID) -> HttpResponse:
    """Book the units that arrived, good and damaged; show the form with why not."""
    detail = _detail(transfer_id)
    form = ReceiveForm(detail.lines, request.POST)
    if not form.is_valid():
        return _detail_page(request, detail, form, status=400)
    receipts = form.receipts()
    try:
        received = services.receive(transfer_id, receipts, actor=actor_for(request.user))
    except StockdError as error:
        index = error.extra.get("index")
        if not (isinstance(index, int) and 0 <= index < len(receipts)):
            return _refused(request, transfer_id, error)  # not about a line: the page anew
        form.add_error(f"good-{receipts[index].product_id}", _about_line(error.detail))
        return _detail_page(request, detail, form, status=int(error.status))
    good = sum(r.received for r in receipts)
    damaged = sum(r.damaged for r in receipts)
    done = "all units are in" if received.state == State.RECEIVED else "more to come"
    messages.success(request, f"Received {good} good and {damaged} damaged unit(s); {done}.")
    return redirect("console-transfer", transfer_id=transfer_id)
