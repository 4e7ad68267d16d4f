"""The cart page: lines, quantities, and "Hold all" (every line or none)."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import InvalidInput, StockdError
from inventory.errors import StockNotFound
from inventory.models import Inventory, Product
from reservations import guests, throttling
from reservations.errors import InsufficientStock
from reservations.models import Reservation
from reservations.planning import CartLine
from reservations.services import carts
from storefront import cart, places
from storefront.error_messages import friendly
from storefront.forms.cart import (
    HoldCartForm,
    LineQuantityForm,
    RemoveLineForm,
)
from storefront.hold_limits import OVER_THE_LIMIT
from storefront.views.partials import wants_partial
from warehouses.models import Warehouse
from warehouses.routing import Location

Status = Reservation.Status


@dataclass
class ShownLine:
    """A cart line as the page shows it: the product, where it would be held, what is left."""

    index: int
    line: cart.Line
    product: Product | None  # None: the product is gone
    warehouse: Warehouse | None  # the one the shopper chose; None: the nearest that has it
    stock: list[Inventory]  # the product's sellable rows, with available_units
    problem: str = ""  # why "Hold all" refused this line
    errors: list[str] = field(default_factory=list)  # the quantity field's errors
    entered: str = ""  # the quantity as typed, when it was refused

    @property
    def quantity(self) -> int:
        return self.line.quantity

    @property
    def sellable(self) -> bool:
        """Tell whether the line can be held at all (the product is sold where it asks)."""
        if self.product is None or not self.product.active or not self.stock:
            return False
        return self.warehouse is None or self._chosen_row() is not None

    @property
    def available(self) -> int:
        """Units available now where the line would be held: its warehouse, or all of them."""
        if self.warehouse is not None:
            row = self._chosen_row()
            return max(0, row.available_units) if row else 0
        return sum(max(0, row.available_units) for row in self.stock)

    @property
    def most_in_one_warehouse(self) -> int:
        return max((row.available_units for row in self.stock), default=0)

    @property
    def needs_split(self) -> bool:
        """A "nearest" line no single warehouse covers but all of them together do."""
        return self.warehouse is None and self.most_in_one_warehouse < self.quantity <= (
            self.available
        )

    @property
    def subtotal(self) -> Decimal:
        return self.product.price * self.quantity if self.product else Decimal(0)

    @property
    def place(self) -> str:
        return self.warehouse.city if self.warehouse else "the nearest warehouse"

    def _chosen_row(self) -> Inventory | None:
        return next((row for row in self.stock if row.warehouse_id == self.line.warehouse_id), None)


def shown_lines(lines: list[cart.Line]) -> list[ShownLine]:
    """Load the lines' products with their sellable stock, and the chosen warehouses (3 queries
    at most, however many lines)."""
    if not lines:
        return []
    sellable = Inventory.objects.sellable().with_available().select_related("warehouse")
    products = Product.objects.filter(pk__in={line.product_id for line in lines}).prefetch_related(
        Prefetch("inventory", queryset=sellable.order_by("warehouse_id"), to_attr="sellable_rows")
    )
    product_of = {product.pk: product for product in products}
    chosen = {line.warehouse_id for line in lines if line.warehouse_id is not None}
    warehouse_of = Warehouse.objects.in_bulk(chosen) if chosen else {}
    return [
        ShownLine(
            index=index,
            line=line,
            product=product_of.get(line.product_id),
            warehouse=warehouse_of.get(line.warehouse_id),
            stock=getattr(product_of.get(line.product_id), "sellable_rows", []),
        )
        for index, line in enumerate(lines)
    ]


def _render_cart(
    request: HttpRequest,
    *,
    status: int = 200,
    problem: tuple[int | None, str] | None = None,
    quantity_errors: tuple[int, list[str], str] | None = None,
    allow_split: bool = False,
) -> HttpResponse:
    """Render the cart page, or only its #cart partial for htmx (always 200, so htmx swaps).

    `problem` is (line index or None, sentence) when "Hold all" was refused; `quantity_errors`
    is (line index, errors, what was typed) when a quantity was.
    """
    shown = shown_lines(cart.lines(request))
    hold_error, short_line = "", None
    if problem is not None:
        index, sentence = problem
        if index is not None and index < len(shown):
            short_line = shown[index]
            short_line.problem = sentence
        else:
            hold_error = sentence
    if quantity_errors is not None:
        index, errors, entered = quantity_errors
        if index < len(shown):
            shown[index].errors, shown[index].entered = errors, entered
    partial = wants_partial(request)
    context = {
        "lines": shown,
        "units": sum(line.quantity for line in shown),
        "total": sum((line.subtotal for line in shown), Decimal(0)),
        "refused": problem is not None,
        "hold_error": hold_error,
        "short_line": short_line,
        "allow_split": allow_split,
        "max_quantity": settings.MAX_QUANTITY_PER_RESERVATION,
        "hold_length": _hold_length(),
        "deliver_to": places.current(request),
        "partial": partial,
    }
    template = "storefront/cart.html#cart" if partial else "storefront/cart.html"
    response = render(request, template, context, status=200 if partial else status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _units(count: int) -> str:
    return f"{count} unit{'s' if count != 1 else ''}"


def _hold_length() -> str:
    """How long a hold lasts, in words: "10 minutes" (or seconds, under a minute)."""
    seconds = settings.RESERVATION_TTL_SECONDS
    if seconds < 60 or seconds % 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@require_GET
def cart_page(request: HttpRequest) -> HttpResponse:
    """Show the cart's lines with quantities, what is left of each, and "Hold all"."""
    return _render_cart(request)


def _line_gone(request: HttpRequest) -> HttpResponse:
    messages.warning(
        request,
        "That line is no longer in your cart (it changed in another tab), so nothing changed. "
        "Here is your cart as it is now.",
    )
    return redirect("cart")


@require_POST
def set_line_quantity(request: HttpRequest, index: int) -> HttpResponse:
    """Set the quantity of the line at `index` (1..MAX_QUANTITY_PER_RESERVATION), then redirect.

    A bad quantity re-renders the cart with the error next to the field and changes nothing;
    a line that is not there any more changes nothing and says so.
    """
    form = LineQuantityForm(request.POST, lines=cart.lines(request), index=index)
    if not form.is_valid():
        if form.line_is_gone():
            return _line_gone(request)
        typed = request.POST.get("quantity", "")[:20]
        return _render_cart(
            request, status=400, quantity_errors=(index, form.errors["quantity"], typed)
        )
    quantity = form.cleaned_data["quantity"]
    cart.set_quantity(request, index=index, quantity=quantity)
    messages.success(request, f"{_product_name(form.line.product_id)}: quantity set to {quantity}.")
    return redirect("cart")


@require_POST
def remove_line(request: HttpRequest, index: int) -> HttpResponse:
    """Take the line at `index` out of the cart, then redirect (a missing line: nothing)."""
    form = RemoveLineForm(request.POST, lines=cart.lines(request), index=index)
    if not form.is_valid():
        return _line_gone(request)
    cart.remove(request, index=index)
    messages.success(request, f"Removed {_product_name(form.line.product_id)} from your cart.")
    return redirect("cart")


def _product_name(product_id: int) -> str:
    name = Product.objects.filter(pk=product_id).values_list("name", flat=True).first()
    return name or "The product"


@require_POST
def hold_cart(request: HttpRequest) -> HttpResponse:
    """Hold every line of the cart or none, empty the cart and go to the held cart's checkout.

    If a line is short (or not sold where it asks), hold nothing, keep the cart, and name the
    line next to it.
    """
    form = HoldCartForm(request.POST)
    allow_split = form.is_valid() and form.cleaned_data["allow_split"]
    lines = cart.lines(request)
    if not lines:
        messages.info(request, "Your cart is empty: add something before holding it.")
        return redirect("cart")
    if (wait := throttling.seconds_to_wait(request)) is not None:
        response = _render_cart(
            request, status=429, problem=(None, OVER_THE_LIMIT), allow_split=allow_split
        )
        response["Retry-After"] = str(wait)
        return response
    guest = guests.guest_id_for_new_hold(request)
    try:
        held = carts.reserve_cart(
            lines=[CartLine(line.product_id, line.warehouse_id, line.quantity) for line in lines],
            origin=origin(request),
            allow_split=allow_split,
            user=request.user,
            guest_id=guest,
        )
    except StockdError as refused:
        problem = cart_error(refused, shown_lines(lines), allow_split=allow_split)
        # 409 whatever the engine said (a stock row not found included): the cart as it
        # stands conflicts with the stock; only a quantity the engine refuses is bad input.
        status = 400 if isinstance(refused, InvalidInput) else 409
        return _render_cart(request, status=status, problem=problem, allow_split=allow_split)
    cart.clear(request)
    units = sum(line.quantity for line in lines)
    messages.success(request, f"Held all {_units(units)} for {_hold_length()}.")
    url = reverse("cart-checkout", kwargs={"cart_id": held.cart_id})
    response = HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    guests.remember_guest(request, response, guest)
    return response


def origin(request: HttpRequest) -> Location | None:
    """Where "nearest" is measured from: the shopper's "deliver to" place, if they chose one."""
    deliver_to = places.current(request)
    return deliver_to.location if deliver_to else None


def cart_error(
    refused: StockdError, shown: list[ShownLine], *, allow_split: bool
) -> tuple[int | None, str]:
    """Name the line a refused "Hold all" is about, and say what to do: (index, sentence)."""
    if isinstance(refused, InsufficientStock):
        product_id = int(refused.extra.get("productId") or 0)
        raw_warehouse = refused.extra.get("warehouseId")
        warehouse_id = int(raw_warehouse) if raw_warehouse else None
        for line in shown:
            if (line.line.product_id, line.line.warehouse_id) == (product_id, warehouse_id):
                available = int(refused.extra.get("available", 0))
                return line.index, _shortage_sentence(line, available, allow_split=allow_split)
        return None, friendly(refused)
    if isinstance(refused, StockNotFound):
        for line in shown:
            if not line.sellable:
                return line.index, _not_sold_sentence(line)
    return None, friendly(refused)


def _shortage_sentence(line: ShownLine, available: int, *, allow_split: bool) -> str:
    name = line.product.name if line.product else "this product"
    if line.warehouse is None and available >= line.quantity and not allow_split:
        return (
            f"No single warehouse has {line.quantity} of {name} "
            f"({available} across all warehouses). Allow split across warehouses, "
            "or lower the quantity."
        )
    if line.warehouse is None or allow_split:  # split, a tied line takes from any warehouse
        if available <= 0:
            return f"{name} is sold out across all warehouses. Remove it to hold the rest."
        return (
            f"Only {available} left of {name} across all warehouses. "
            f"Lower the quantity to {available} or remove it."
        )
    where = line.warehouse.city
    if available <= 0:
        return (
            f"{name} is sold out in {where}. Allow split across warehouses, "
            "or remove it to hold the rest."
        )
    return (
        f"Only {available} left of {name} in {where}. Lower the quantity to {available}, "
        "allow split across warehouses, or remove it."
    )


def _not_sold_sentence(line: ShownLine) -> str:
    if line.product is None or not line.product.active or not line.stock:
        return "This product is no longer sold. Remove it to hold the rest."
    return f"{line.product.name} is not sold in {line.place} any more. Remove it to hold the rest."


# The held cart's checkout page.
