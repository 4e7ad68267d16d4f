"""Sales in the console: products' sale policies (window, per-customer limit, hold terms), a
product's live board per channel, and channels (made with their key, shown once) with their
allocations. Every change goes through sales.services, as the staff API's do."""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from console.access import staff_required
from console.sales import selectors
from console.sales.forms import AllocationForm, ChannelForm, NewSaleForm, PolicyForm
from core.errors import StockdError
from integrations.keys import create_key
from inventory.models import Product
from sales import services
from sales.errors import ChannelNotFound
from sales.models import Allocation, Channel, SalePolicy

# How often the board refreshes while a sale is on or to come.
BOARD_SECONDS = 2


def _refuse(form: forms.Form, error: StockdError) -> None:
    """Show a service's refusal in the form, in the form's words: on the field it names first
    (by its API name, e.g. saleEndsAt), or above the fields when it names none."""
    detail, named = error.detail, []
    for name, field in form.fields.items():
        api_name = _camel(name)
        if api_name in error.detail:
            named.append((error.detail.index(api_name), name))
            detail = detail.replace(api_name, str(field.label).lower())
    form.add_error(min(named)[1] if named else None, detail[:1].upper() + detail[1:])


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.title() for word in rest)


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _sales_page(request: HttpRequest, form: NewSaleForm, *, status: int = 200) -> HttpResponse:
    context = {"form": form, "sales": selectors.products_with_rules(timezone.now())}
    return render(request, "console/sales/sales.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def sales(request: HttpRequest) -> HttpResponse:
    """List the products under a sale's rules; a POST sets a product's policy and opens its
    page, or shows the form again with why not."""
    if request.method == "GET":
        return _sales_page(request, NewSaleForm())
    form = NewSaleForm(request.POST)
    if not form.is_valid():
        return _sales_page(request, form, status=400)
    product = form.cleaned_data["product"]
    try:
        current = services.policy_of(product.pk, channel_code=form.channel_code)
        services.set_policy(product.pk, form.changes(current), channel_code=form.channel_code)
    except StockdError as error:
        _refuse(form, error)
        return _sales_page(request, form, status=400)
    messages.success(request, f"Saved the sale policy of {product.name}.")
    return redirect("console-sales-product", product_id=product.pk)


def _product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise Http404(f"No product {product_id}.")
    return product


def _board_context(product: Product) -> dict:
    board = selectors.sale_board(product.pk, now=timezone.now())
    return {"product": product, "board": board, "board_seconds": BOARD_SECONDS}


def _product_page(
    request: HttpRequest, product: Product, form: PolicyForm, *, status: int = 200
) -> HttpResponse:
    context = _board_context(product) | {
        "form": form,
        "policies": SalePolicy.objects.filter(product=product)
        .select_related("channel")
        .order_by("channel__code"),
        "allocations": Allocation.objects.filter(product=product).select_related(
            "channel", "warehouse"
        ),
    }
    return render(request, "console/sales/product.html", context, status=status)


def _policy_form(request: HttpRequest, product: Product) -> PolicyForm:
    """The form filled in with the product's policy, or ?channel='s override of it."""
    try:
        policy = services.policy_of(product.pk, channel_code=request.GET.get("channel") or None)
    except ChannelNotFound:
        policy = services.policy_of(product.pk)
    return PolicyForm.of(policy)


@require_http_methods(["GET", "POST"])
@staff_required
def product_sale(request: HttpRequest, product_id: int) -> HttpResponse:
    """Show a product's sale: its live board (htmx's poll gets only that), its policies and
    allocations, and the policy form; a POST saves the policy or shows the form with why not."""
    product = _product(product_id)
    if request.method == "GET":
        if _wants_partial(request):
            context = _board_context(product)
            return render(request, "console/sales/product.html#sale-board", context)
        return _product_page(request, product, _policy_form(request, product))
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _product_page(request, product, form, status=400)
    try:
        current = services.policy_of(product.pk, channel_code=form.channel_code)
        services.set_policy(product.pk, form.changes(current), channel_code=form.channel_code)
    except StockdError as error:
        _refuse(form, error)
        return _product_page(request, product, form, status=400)
    whose = f"the {form.channel_code} channel" if form.channel_code else "all channels"
    messages.success(request, f"Saved the sale policy of {product.name} for {whose}.")
    return redirect("console-sales-product", product_id=product.pk)


def _channels_page(request: HttpRequest, form: ChannelForm, *, new=None, status: int = 200):
    context = {"form": form, "channels": selectors.channels_with_keys(), "new": new}
    return render(request, "console/sales/channels.html", context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache  # a new channel's key is on the page it answers
@staff_required
def channels(request: HttpRequest) -> HttpResponse:
    """List the sales channels; a POST opens one with a key bound to it, shown once."""
    if request.method == "GET":
        return _channels_page(request, ChannelForm())
    form = ChannelForm(request.POST)
    if not form.is_valid():
        return _channels_page(request, form, status=400)
    try:
        # The channel and its key, or neither: a channel nobody can hold through is no use.
        with transaction.atomic():
            channel = services.create_channel(
                code=form.cleaned_data["code"], name=form.cleaned_data["name"]
            )
            new_key = create_key(
                name=f"{channel.name} channel",
                scopes=["holds"],
                created_by=request.user,
                channel=channel,
            )
    except StockdError as error:
        form.add_error("code", error.detail)
        return _channels_page(request, form, status=error.status)
    return _channels_page(request, ChannelForm(), new={"channel": channel, "key": new_key})


def _channel_page(
    request: HttpRequest, channel: Channel, form: AllocationForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "channel": channel,
        "form": form,
        "allocations": Allocation.objects.filter(channel=channel)
        .select_related("product", "warehouse")
        .order_by("product__name", "warehouse__code"),
    }
    return render(request, "console/sales/channel.html", context, status=status)


def _allocation_form(request: HttpRequest, channel: Channel) -> AllocationForm:
    """An empty form, or one filled in with the allocation ?product=&warehouse= name."""
    product, warehouse = request.GET.get("product"), request.GET.get("warehouse") or None
    if not (product or "").isdigit() or not (warehouse or "0").isdigit():
        return AllocationForm()
    found = Allocation.objects.filter(channel=channel, product_id=product, warehouse_id=warehouse)
    allocation = found.first()
    if allocation is None:
        return AllocationForm(initial={"product": product, "warehouse": warehouse})
    return AllocationForm.of(allocation)


@require_http_methods(["GET", "POST"])
@staff_required
def channel_allocations(request: HttpRequest, code: str) -> HttpResponse:
    """Show a channel's allocations; a POST sets one (all blank removes it)."""
    try:
        channel = services.channel(code)
    except ChannelNotFound as error:
        raise Http404(error.detail) from None
    if request.method == "GET":
        return _channel_page(request, channel, _allocation_form(request, channel))
    form = AllocationForm(request.POST)
    if not form.is_valid():
        return _channel_page(request, channel, form, status=400)
    product = form.cleaned_data["product"]
    try:
        allocation = services.set_allocation(
            channel.code, product.pk, form.values(), warehouse_id=form.warehouse_id
        )
    except StockdError as error:
        _refuse(form, error)
        return _channel_page(request, channel, form, status=400)
    where = form.cleaned_data["warehouse"] or "all warehouses"
    done = "Set" if allocation is not None else "Removed"
    messages.success(request, f"{done} {channel.code}'s allocation of {product.name} ({where}).")
    return redirect("console-sales-channel", code=channel.code)
