"""The orders page: a shopper's holds and confirmed orders, newest first, a page at a time.

A preorder shows as one, with how far its delivery has come: awaiting stock (and when it is
expected), "2 of 3 shipped" while part of it has been served, then shipped.

A signed-in shopper sees the holds of their account; a guest the holds this browser made
(its guest cookie), with a prompt to sign up and keep them. Nobody sees anyone else's: staff
too see only their own here (everyone's are in the admin and GET /api/reservations).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from reservations import guests
from reservations.models import Reservation
from reservations.services import transitions
from storefront.views.partials import wants_partial

PER_PAGE = 10

_RELEASED = {
    Reservation.ReleaseReason.EXPIRED: ("Expired", "off"),
    Reservation.ReleaseReason.CANCELLED: ("Cancelled", "off"),
    Reservation.ReleaseReason.ADMIN: ("Released by stockd", "off"),
    Reservation.ReleaseReason.PAYMENT_FAILED: ("Payment failed", "bad"),
}


@dataclass(frozen=True)
class OrderLine:
    """A hold as the orders page shows it: its state in words and a badge tone."""

    reservation: Reservation
    # held, confirmed, expired, released; a preorder's awaiting, part-shipped, shipped
    state: str
    label: str
    tone: str  # a badge class: warn, ok, off, bad, soft

    @property
    def total(self) -> Decimal:
        return self.reservation.product.price * self.reservation.quantity

    @property
    def ended_at(self) -> datetime | None:
        r = self.reservation
        return (
            r.confirmed_at or r.released_at or (r.expires_at if self.state == "expired" else None)
        )


def _preorder_line(preorder: Reservation) -> OrderLine:
    """A confirmed preorder: awaiting stock until units arrive, then shipped as they do."""
    if preorder.served <= 0:
        return OrderLine(preorder, "awaiting", "Awaiting stock", "warn")
    if preorder.served < preorder.quantity:
        label = f"{preorder.served} of {preorder.quantity} shipped"
        return OrderLine(preorder, "part-shipped", label, "soft")
    return OrderLine(preorder, "shipped", "Shipped", "ok")


def _line(reservation: Reservation, now: datetime) -> OrderLine:
    if reservation.is_preorder and reservation.status == Reservation.Status.CONFIRMED:
        return _preorder_line(reservation)
    if reservation.status == Reservation.Status.CONFIRMED:
        return OrderLine(reservation, "confirmed", "Confirmed", "ok")
    if reservation.status == Reservation.Status.PENDING:
        # A due hold not swept yet is as good as expired: its units are back on sale.
        if reservation.is_due(now):
            return OrderLine(reservation, "expired", "Expired", "off")
        return OrderLine(reservation, "held", "Held", "warn")
    label, tone = _RELEASED.get(reservation.release_reason, ("Released", "off"))
    state = "expired" if reservation.release_reason == Reservation.ReleaseReason.EXPIRED else ""
    return OrderLine(reservation, state or "released", label, tone)


class _Window(Sequence):
    """One fetched page posing as the whole list, so Paginator can number the pages."""

    def __init__(self, items: list, offset: int, total: int):
        self._items, self._offset, self._total = items, offset, total

    def __len__(self) -> int:
        return self._total

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("Only the fetched page can be read.")
        return self._items[index.start - self._offset : index.stop - self._offset]


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _fetch(request: HttpRequest, guest, *, limit: int, offset: int):
    # "My orders": staff see their own here, everyone's in the console.
    return transitions.list_reservations(
        user=request.user, guest_id=guest, limit=limit, offset=offset, own_only=True
    )


def _page(request: HttpRequest, guest) -> Page:
    """Fetch the asked-for page (the last one when asked past the end) in one service call."""
    number = _page_number(request)
    items, total = _fetch(request, guest, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    if not items and total:
        number = -(-total // PER_PAGE)
        items, total = _fetch(request, guest, limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
    window = _Window(items, (number - 1) * PER_PAGE, total)
    return Paginator(window, PER_PAGE, allow_empty_first_page=True).page(number)


@require_GET
def orders(request: HttpRequest) -> HttpResponse:
    """List the shopper's holds and orders, newest first; htmx gets only the list."""
    guest = guests.guest_id(request)
    page = _page(request, guest)
    now = timezone.now()
    context = {
        "page": page,
        "lines": [_line(r, now) for r in page.object_list],
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1),
        "is_guest": not request.user.is_authenticated,
    }
    template = "storefront/orders.html"
    if wants_partial(request):
        template += "#order-list"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
