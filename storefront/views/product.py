"""The product page: gallery, details, stock per warehouse, delivery by pincode, and buying.

GET shows the page; `?pincode=` adds the delivery quote, `?warehouse=` and `?quantity=` preset
what to buy. An htmx request names the part it replaces (its target id) and gets that named
partial. Reserve, add to cart, preorder and join the waitlist are POSTs that redirect after
success (storefront.views.product_forms).

A warehouse sold out with units coming and preorders on (storefront.preorders) offers them in
the buy panel: the eta, the places left and "Preorder" (signed-in shoppers; others are asked
to sign in), or "Preorders are full" above the waitlist. The live stream says when the places
change, and the panel fetches itself again (storefront.live.preorders).

A product under a sale window (sales) shows its state in the buy panel: "On sale in
HH:MM:SS" before the start, Reserve while open, "Sale ended" after; the live stream tells the
page when that changes and the panel fetches itself again (storefront.live.sales). A guest
refused because the product requires an account is sent to sign in, and back here after.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from inventory.delivery import DeliveryQuote, quote_delivery
from inventory.errors import ProductNotFound
from inventory.models import Inventory, Product
from inventory.selectors import product_detail
from sales.models import WEB
from sales.rules import ENDED, UPCOMING
from sales.selectors import rules_for
from storefront import places, waitlists
from storefront.drops import Drop, drop_of
from storefront.error_messages import friendly
from storefront.forms.product import (
    DeliveryCheckForm,
    PreorderForm,
    PurchaseForm,
    WaitlistForm,
)
from storefront.preorders import PreorderBox, boxes_of_product
from storefront.views.partials import wants_partial
from warehouses.delivery import DeliveryOption
from warehouses.errors import PincodeNotServiceable

TEMPLATE = "storefront/product.html"
PARTIALS = ("delivery", "buy-panel")  # each named after the DOM id it replaces
BuyForm = PurchaseForm | WaitlistForm | PreorderForm

# Colour names of the catalogue, shown as swatches; a name not here gets a neutral one.
_SWATCHES = {
    "black": "#111827",
    "blue": "#2563eb",
    "brown": "#8b5e3c",
    "clear": "#f8fafc",
    "gold": "#d4a017",
    "green": "#16a34a",
    "grey": "#9ca3af",
    "mauve": "#b784a7",
    "multicolor": "conic-gradient(#ef4444, #f59e0b, #22c55e, #3b82f6, #a855f7, #ef4444)",
    "navy": "#1e3a8a",
    "orange": "#f97316",
    "pink": "#ec4899",
    "purple": "#7c3aed",
    "red": "#dc2626",
    "silver": "#cbd5e1",
    "space black": "#1f2937",
    "titanium": "#a8a29e",
    "tortoise": "linear-gradient(135deg, #5b3a1e, #a0652d 45%, #3b2412)",
    "white": "#ffffff",
    "yellow": "#facc15",
}


@dataclass(frozen=True)
class WarehouseChoice:
    """One warehouse the product ships from: its stock, its delivery option, and if chosen."""

    row: Inventory
    option: DeliveryOption | None
    chosen: bool

    @property
    def available(self) -> int:
        return self.row.available_units


def _swatch(name: str) -> str:
    """Return the CSS background of a colour name ("Black/Blue" is half and half)."""
    parts = [_SWATCHES.get(part.strip().lower(), "#e2e8f0") for part in name.split("/")]
    if len(parts) == 2:
        return f"linear-gradient(135deg, {parts[0]} 50%, {parts[1]} 50%)"
    return parts[0]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _chosen_row(
    rows: list[Inventory], requested: int | None, quote: DeliveryQuote | None
) -> Inventory | None:
    """Pick where to ship from: the warehouse asked for, else the recommended, else (sold out
    everywhere) the nearest, else the fullest."""
    by_id = {row.warehouse_id: row for row in rows}
    if requested in by_id:
        return by_id[requested]
    if quote is not None:
        nearest = [w.id for w, _ in quote.options if w.id in by_id]
        preferred = quote.recommended_warehouse_id
        if preferred in by_id or nearest:
            return by_id[preferred if preferred in by_id else nearest[0]]
    if not rows:
        return None
    return max(rows, key=lambda row: (row.available_units, -row.warehouse_id))


def _quote(product: Product, form: DeliveryCheckForm, quantity: int) -> DeliveryQuote | None:
    """Quote delivery to the form's pincode; an unknown pincode becomes the field's error."""
    if not form.is_bound or not form.is_valid():
        return None
    try:
        return quote_delivery(
            product_id=product.id, pincode=form.cleaned_data["pincode"], quantity=quantity
        )
    except PincodeNotServiceable as refused:
        form.add_error("pincode", friendly(refused))
    except ProductNotFound:
        form.add_error("pincode", "No warehouse stocks this product right now.")
    return None


def drop_for(request: HttpRequest, product: Product) -> Drop:
    """Read the storefront's sale rules of the product as this shopper sees them now."""
    return drop_of(
        rules_for(product.id, [WEB])[WEB],
        now=timezone.now(),
        signed_in=request.user.is_authenticated,
        default_hold_seconds=settings.RESERVATION_TTL_SECONDS,
    )


def _preorder_box(product: Product, chosen: Inventory | None, drop: Drop) -> PreorderBox | None:
    """The chosen sold-out row's preorders; none while the product's sale is not open (a
    preorder must not jump the sale's start)."""
    if chosen is None or drop.state in (UPCOMING, ENDED):
        return None
    return boxes_of_product(product.id).get(chosen.warehouse_id)


def page_context(
    product: Product,
    *,
    params: Mapping[str, str],
    drop: Drop,
    buy_form: BuyForm | None = None,
) -> dict:
    """Build what the page shows from the query (or a POST that failed), the product's stock
    and its sale."""
    rows = list(product.inventory.all())
    limit = settings.MAX_QUANTITY_PER_RESERVATION
    quantity = _int_or_none(params.get("quantity"))
    quantity = quantity if quantity is not None and 1 <= quantity <= limit else 1
    delivery_form = DeliveryCheckForm(params if "pincode" in params else None)
    quote = _quote(product, delivery_form, quantity)
    pincode = quote.place.pincode if quote else ""
    chosen = _chosen_row(rows, _int_or_none(params.get("warehouse")), quote)
    options = {warehouse.id: option for warehouse, option in quote.options} if quote else {}
    by_id = {row.warehouse_id: row for row in rows}
    order = [w_id for w_id in options if w_id in by_id] if quote else list(by_id)
    order += [w_id for w_id in by_id if w_id not in order]
    choices = [
        WarehouseChoice(
            by_id[w_id], options.get(w_id), chosen is not None and w_id == chosen.warehouse_id
        )
        for w_id in order
    ]
    sold_out = chosen is None or chosen.available_units <= 0
    preorder = _preorder_box(product, chosen, drop) if sold_out else None
    bound = limit if sold_out else min(limit, chosen.available_units)
    if preorder is not None and preorder.is_open:
        bound = min(limit, preorder.remaining)
    elif drop.limit is not None:
        bound = min(bound, drop.limit)
    if buy_form is None:
        form_class = WaitlistForm if sold_out else PurchaseForm
        if preorder is not None and preorder.is_open:
            form_class = PreorderForm
        initial = {"quantity": min(quantity, bound), "pincode": pincode}
        buy_form = form_class(stock=rows, initial=initial)
    images = [product.image_url] if product.image_url else []
    return {
        "product": product,
        "images": images,
        "colours": [(name, _swatch(name)) for name in product.colors],
        "box_items": [item.strip() for item in product.box_contents.split(",") if item.strip()],
        "delivery_form": delivery_form,
        "quote": quote,
        "pincode": pincode,
        "choices": choices,
        "chosen": chosen,
        "sold_out": sold_out,
        "preorder": preorder,
        "buy_form": buy_form,
        "quantity_max": bound,
        "max_per_hold": limit,
        "hold_minutes": max(1, settings.RESERVATION_TTL_SECONDS // 60),
        "drop": drop,
        # Where signing in (or up) from this page comes back to.
        "back_here": back_to_product(
            product, warehouse_id=chosen.warehouse_id if chosen else None, pincode=pincode
        ),
    }


def not_found(request: HttpRequest) -> HttpResponse:
    return render(request, TEMPLATE, {"product": None}, status=404)


def render_page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    chosen = context["chosen"]
    if context["sold_out"] and chosen is not None:  # the shopper's place in its queue, if any
        where = {"product_id": context["product"].id, "warehouse_id": chosen.warehouse_id}
        context = {**context, "waiting": waitlists.waiting_here(request, **where)}
    target = request.htmx.target if wants_partial(request) else None
    if target not in PARTIALS:
        response = render(request, TEMPLATE, context, status=status)
    elif target == "delivery":
        # A new quote may recommend another warehouse: the buy panel follows it, out of band.
        html = render_to_string(f"{TEMPLATE}#delivery", context, request=request)
        html += render_to_string(f"{TEMPLATE}#buy-panel", {**context, "oob": True}, request)
        response = HttpResponse(html, status=status)
    else:
        response = render(request, f"{TEMPLATE}#{target}", context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def back_to_product(product: Product, *, warehouse_id: int | None, pincode: str = "") -> str:
    """The product page's URL, keeping the warehouse chosen and the delivery quote."""
    query = {"warehouse": warehouse_id} if warehouse_id else {}
    if pincode:
        query["pincode"] = pincode
    url = reverse("product", kwargs={"product_id": product.id})
    return f"{url}?{urlencode(query)}" if query else url


@require_GET
def product_page(request: HttpRequest, product_id: int) -> HttpResponse:
    """Show a product; with ?pincode= its delivery quote too. Unknown or inactive: 404."""
    product = product_detail(product_id=product_id)
    if product is None:
        return not_found(request)
    params = request.GET.dict()
    deliver_to = places.current(request)
    if "pincode" not in params and deliver_to is not None and deliver_to.pincode:
        params["pincode"] = deliver_to.pincode  # the place chosen on the catalogue
    return render_page(
        request, page_context(product, params=params, drop=drop_for(request, product))
    )
