"""What the product page's forms post: reserve, add to cart, preorder, join and leave the
waitlist. Each is a POST that redirects after success; an invalid form shows the page again
with its errors (storefront.views.product renders it)."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.views.decorators.http import require_POST

from core.errors import NotFound, StockdError
from inventory.models import Product
from inventory.selectors import product_detail
from reservations import guests
from reservations.errors import StockAvailable
from reservations.services import holds, preorders, waitlist
from sales.errors import AccountRequired
from sales.models import WEB
from storefront import cart, waitlists
from storefront.error_messages import friendly
from storefront.forms.checkout import PAYMENT_METHODS
from storefront.forms.product import (
    LeaveWaitlistForm,
    PreorderForm,
    PurchaseForm,
    WaitlistForm,
)
from storefront.hold_limits import refused_over_rate
from storefront.views import product as page


def refused_page(request: HttpRequest, product: Product, form: page.BuyForm) -> HttpResponse:
    """Show the page again with the form's errors next to its fields; nothing was changed."""
    params = {key: request.POST.get(key) for key in ("warehouse", "quantity", "pincode")}
    params = {key: value for key, value in params.items() if value}
    context = page.page_context(
        product, params=params, drop=page.drop_for(request, product), buy_form=form
    )
    return page.render_page(request, context, status=400)


def posted(form_class: type[page.BuyForm]) -> Callable:
    """Make a view take the product and its posted form, already valid (POST only).

    An unknown or inactive product is the 404 page; an invalid form shows the page again
    with its errors (400), and the view is not called.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @require_POST
        @wraps(view)
        def handle(request: HttpRequest, product_id: int) -> HttpResponse:
            product = product_detail(product_id=product_id)
            if product is None:
                return page.not_found(request)
            form = form_class(request.POST, stock=list(product.inventory.all()))
            if not form.is_valid():
                return refused_page(request, product, form)
            return view(request, product, form)

        return handle

    return decorate


@posted(PurchaseForm)
def reserve(request: HttpRequest, product: Product, form: PurchaseForm) -> HttpResponse:
    """Hold the units in the chosen warehouse and go to checkout; an error comes back here."""
    if (over_rate := refused_over_rate(request)) is not None:
        return over_rate
    row, pincode = form.cleaned_data["warehouse"], form.cleaned_data["pincode"]
    guest = guests.guest_id_for_new_hold(request)
    try:
        reservation = holds.reserve(
            product_id=product.id,
            warehouse_id=row.warehouse_id,
            quantity=form.cleaned_data["quantity"],
            user=request.user,
            guest_id=guest,
        )
    except AccountRequired as refused:
        back = page.back_to_product(product, warehouse_id=row.warehouse_id, pincode=pincode)
        messages.info(request, friendly(refused))
        return redirect_to_login(back, reverse("login"))
    except StockdError as refused:
        messages.error(request, friendly(refused, where=row.warehouse.city))
        return redirect(
            page.back_to_product(product, warehouse_id=row.warehouse_id, pincode=pincode)
        )
    response = redirect("checkout", reservation_id=reservation.id)
    guests.remember_guest(request, response, guest)
    return response


@posted(PurchaseForm)
def add_to_cart(request: HttpRequest, product: Product, form: PurchaseForm) -> HttpResponse:
    """Put the units in the session's cart (nothing is held yet) and come back with a message."""
    row, quantity = form.cleaned_data["warehouse"], form.cleaned_data["quantity"]
    cart.add(request, product_id=product.id, warehouse_id=row.warehouse_id, quantity=quantity)
    messages.success(
        request,
        f"Added {quantity} × {product.name} from {row.warehouse.city} to your cart. "
        "Hold everything in it from the cart page.",
    )
    return redirect(
        page.back_to_product(
            product, warehouse_id=row.warehouse_id, pincode=form.cleaned_data["pincode"]
        )
    )


@posted(PreorderForm)
def preorder(request: HttpRequest, product: Product, form: PreorderForm) -> HttpResponse:
    """Preorder incoming units in the chosen warehouse and go to My orders.

    A shopper without an account is sent to sign in and back here; a refusal (places taken,
    preorders closed, units back in stock, the sale not open) comes back here as a message,
    and nothing is placed. It counts in the client's reserve rate limit, as the API's does.
    """
    if (over_rate := refused_over_rate(request)) is not None:
        return over_rate
    row, pincode = form.cleaned_data["warehouse"], form.cleaned_data["pincode"]
    city = row.warehouse.city
    back = page.back_to_product(product, warehouse_id=row.warehouse_id, pincode=pincode)
    try:
        placed = preorders.place(
            product_id=product.id,
            warehouse_id=row.warehouse_id,
            quantity=form.cleaned_data["quantity"],
            user=request.user,
            channel=WEB,
        )
    except AccountRequired:
        messages.info(
            request,
            "Sign in or create an account to preorder: a preorder waits for its delivery, "
            "so it belongs to an account. You come back here after.",
        )
        return redirect_to_login(back, reverse("login"))
    except StockAvailable:
        messages.info(
            request,
            f"Good news: {product.name} is back in stock in {city}. Reserve it now instead "
            "of preordering.",
        )
        return redirect(back)
    except StockdError as refused:
        messages.error(request, friendly(refused, where=city))
        return redirect(back)
    when = f"around {date_format(placed.eta, 'j M Y')}" if placed.eta else "when it arrives"
    paid_by = dict(PAYMENT_METHODS)[form.cleaned_data["method"]]
    messages.success(
        request,
        f"Payment received ({paid_by}). Preordered {placed.quantity} × {product.name} from "
        f"{city}. It ships {when}; we email you when it does.",
    )
    return redirect("orders")


@posted(WaitlistForm)
def join_waitlist(request: HttpRequest, product: Product, form: WaitlistForm) -> HttpResponse:
    """Queue the shopper's email for the chosen warehouse and come back with their position."""
    row, pincode = form.cleaned_data["warehouse"], form.cleaned_data["pincode"]
    back = page.back_to_product(product, warehouse_id=row.warehouse_id, pincode=pincode)
    try:
        joined = waitlist.join_waitlist(
            product_id=product.id,
            warehouse_id=row.warehouse_id,
            quantity=form.cleaned_data["quantity"],
            email=form.cleaned_data["email"],
            user=request.user,
        )
    except StockdError as refused:
        messages.error(request, friendly(refused, where=row.warehouse.city))
        return redirect(back)
    waitlists.remember(request, joined.entry)
    place = waitlist.position(joined.entry)
    where = f"{product.name} in {row.warehouse.city}"
    if joined.created:
        messages.success(
            request,
            f"You're #{place} on the waitlist for {where}. When units come back we hold them "
            f"for you and email {joined.entry.email} a link to check out.",
        )
    else:
        messages.info(
            request,
            f"{joined.entry.email} is already on the waitlist for {where}: you're #{place}. "
            "We'll email you when it is your turn.",
        )
    return redirect(back)


@require_POST
def leave_waitlist(request: HttpRequest, product_id: int) -> HttpResponse:
    """Take the shopper's entry for this product off the waitlist; back to the product."""
    form = LeaveWaitlistForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Say which waitlist entry to leave: send entry=<its id>.")
    try:
        entry = waitlist.get_entry(entry_id=form.cleaned_data["entry"], user=request.user)
        if entry.product_id != product_id:
            raise Http404("No such waitlist entry for this product.")
        waitlist.cancel_entry(entry_id=entry.pk, user=request.user)
    except NotFound:
        raise Http404("No such waitlist entry.") from None
    except StockdError as refused:  # promoted meanwhile: its hold is waiting at checkout
        messages.error(request, friendly(refused))
    else:
        messages.success(
            request, f"You left the waitlist for {entry.product.name} in {entry.warehouse.city}."
        )
    back = page.back_to_product(
        entry.product, warehouse_id=entry.warehouse_id, pincode=form.cleaned_data["pincode"]
    )
    return redirect(back)
