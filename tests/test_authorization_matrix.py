"""Who reaches what: every route, as an anonymous visitor, shopper A, shopper B and staff.

The matrix has a row for every (route, method) the URL resolver knows, so a new route without
a row fails test_every_route_has_a_matrix_row. Shopper A owns the holds, carts and waitlist
entries the rows act on: B and anonymous visitors get 404 and change nothing; nobody but
staff reaches the console (login redirect or 403) or the staff API (401/403 JSON). CSRF is
enforced on every form and on every session-authenticated unsafe API call.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from integrations.keys import create_key
from integrations.models import ApiKey, Webhook
from inventory.models import Inventory, PreorderTerms, Product
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.planning import CartLine
from reservations.services import carts, holds, waitlist
from sales.models import Allocation, Channel, SalePolicy
from tests.asgi_client import ASGI, TRANSPORTS, AsgiClient, committed_rows
from tests.factories import InventoryFactory, UserFactory
from transfers import services as transfer_services
from transfers.models import Transfer, TransferLine, TransferStep
from warehouses.models import Warehouse

ANONYMOUS, SHOPPER_A, SHOPPER_B, STAFF = "anonymous", "shopper A", "shopper B", "staff"
ACTORS = [ANONYMOUS, SHOPPER_A, SHOPPER_B, STAFF]
LOGIN = "redirect to the console's login"
DJANGO_LOGIN = "redirect to Django admin's login"
JSON = "application/json"


@dataclass
class World:
    """Stock to act on, three accounts, and shopper A's things, made on demand; and how the
    actors' requests reach the app (`transport`: in-process, or through the ASGI app)."""

    row: Inventory
    sold_out: Inventory
    users: dict[str, object]
    transport: str

    def hold_of_a(self) -> Reservation:
        return holds.reserve(
            product_id=self.row.product_id,
            warehouse_id=self.row.warehouse_id,
            quantity=1,
            user=self.users[SHOPPER_A],
        )

    def cart_of_a(self) -> uuid.UUID:
        line = CartLine(self.row.product_id, self.row.warehouse_id, 1)
        return carts.reserve_cart(lines=[line], user=self.users[SHOPPER_A]).cart_id

    def entry_of_a(self) -> WaitlistEntry:
        return waitlist.join_waitlist(
            product_id=self.sold_out.product_id,
            warehouse_id=self.sold_out.warehouse_id,
            quantity=1,
            email="a@example.com",
            user=self.users[SHOPPER_A],
        ).entry


@dataclass
class Call:
    """One (route, method) of the matrix: the request and what each actor must get."""

    name: str
    method: str
    url: Callable[[World], str]
    expect: dict[str, int | str]
    data: Callable[[World], dict] | dict | None = None
    content_type: str | None = None
    before: Callable[[Client, World], None] | None = None
    kwargs: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}"


def everyone(status: int) -> dict[str, int | str]:
    return dict.fromkeys(ACTORS, status)


def owned_by_a(ok: int) -> dict[str, int | str]:
    return {ANONYMOUS: 404, SHOPPER_A: ok, SHOPPER_B: 404, STAFF: ok}


def signed_in_go_home(ok: int) -> dict[str, int | str]:
    """Sign-up and sign-in pages: a visitor gets them; a signed-in user is sent on (302)."""
    return {**dict.fromkeys(ACTORS, 302), ANONYMOUS: ok}


def console(ok: int) -> dict[str, int | str]:
    return {ANONYMOUS: LOGIN, SHOPPER_A: 403, SHOPPER_B: 403, STAFF: ok}


def staff_api(ok: int, anonymous: int = 401) -> dict[str, int | str]:
    return {ANONYMOUS: anonymous, SHOPPER_A: 403, SHOPPER_B: 403, STAFF: ok}


def fixed(path: str) -> Callable[[World], str]:
    return lambda world: path


def named(name: str, **kwargs) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs=kwargs)


def hold_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"reservation_id": world.hold_of_a().id})


def cart_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"cart_id": world.cart_of_a()})


def product_url(name: str) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"product_id": world.row.product_id})


def _to_cart(client: Client, world: World) -> None:
    url = reverse("product-add-to-cart", kwargs={"product_id": world.row.product_id})
    client.post(url, {"warehouse": world.row.warehouse_id, "quantity": 1})


def _key(world: World) -> ApiKey:
    return create_key(name="matrix", scopes=["stock:read"]).key


def _hook(world: World) -> Webhook:
    return Webhook.objects.create(url="http://127.0.0.1:9/x", events=["stock.low"], secret="s")


def _channel(world: World) -> Channel:
    return Channel.objects.get_or_create(code="matrix", defaults={"name": "Matrix"})[0]


def _transfer(world: World, *, shipped: bool = False) -> str:
    """A transfer of one unit of the row's product to the sold-out row's warehouse."""
    transfer = transfer_services.create(
        source_id=world.row.warehouse_id,
        destination_id=world.sold_out.warehouse_id,
        lines=[transfer_services.Line(world.row.product_id, 1)],
        reference="matrix",
        actor="test:matrix",
    )
    if shipped:
        transfer_services.ship(transfer.pk, actor="test:matrix")
    return str(transfer.pk)


def transfer_url(name: str, *, shipped: bool = False) -> Callable[[World], str]:
    return lambda world: reverse(name, kwargs={"transfer_id": _transfer(world, shipped=shipped)})


def _stock_line(world: World) -> dict:
    return {"productId": world.row.product_id, "warehouseId": world.row.warehouse_id}


CALLS = [
    # --- the public API ---
    Call("api-warehouses", "GET", named("api-warehouses"), everyone(200)),
    Call("api-products", "GET", named("api-products"), everyone(200)),
    Call("api-product", "GET", product_url("api-product"), everyone(200)),
    Call(
        "api-detect-warehouse",
        "POST",
        named("api-detect-warehouse"),
        everyone(200),
        data=lambda w: {"pincode": "600032", "productId": w.row.product_id},
        content_type=JSON,
    ),
    Call("api-reservations", "GET", named("api-reservations"), everyone(200)),
    Call(
        "api-reservations",
        "POST",
        named("api-reservations"),
        everyone(201),
        data=lambda w: {**_stock_line(w), "quantity": 1},
        content_type=JSON,
    ),
    Call(
        "api-reservations-batch",
        "POST",
        named("api-reservations-batch"),
        everyone(201),
        data=lambda w: {"items": [{**_stock_line(w), "quantity": 1}]},
        content_type=JSON,
    ),
    Call("api-waitlist", "GET", named("api-waitlist"), staff_api(200, anonymous=403)),
    Call(
        "api-waitlist",
        "POST",
        named("api-waitlist"),
        everyone(201),
        data=lambda w: {
            "productId": w.sold_out.product_id,
            "warehouseId": w.sold_out.warehouse_id,
            "quantity": 1,
            "email": "someone@example.com",
        },
        content_type=JSON,
    ),
    Call("api-cron-expire", "GET", named("api-cron-expire"), everyone(401)),
    Call(
        "api-payments-webhook",
        "POST",
        fixed("/api/payments/webhook"),
        everyone(400),
        data=lambda w: {
            "id": "evt_matrix",
            "type": "payment.succeeded",
            "data": {"reservationId": str(w.hold_of_a().id)},
        },
        content_type=JSON,
    ),
    Call("api-schema", "GET", named("api-schema"), everyone(200)),
    Call("api-docs", "GET", named("api-docs"), everyone(200)),
    Call("healthz", "GET", named("healthz"), everyone(200)),
    Call("readyz", "GET", named("readyz"), everyone(200)),
    Call("metrics", "GET", named("metrics"), everyone(200)),
    # --- shopper A's holds, carts and waitlist entries through the API ---
    Call("api-reservation", "GET", hold_url("api-reservation"), owned_by_a(200)),
    Call("api-reservation-confirm", "POST", hold_url("api-reservation-confirm"), owned_by_a(200)),
    Call("api-reservation-release", "POST", hold_url("api-reservation-release"), owned_by_a(200)),
    Call("api-reservation-extend", "POST", hold_url("api-reservation-extend"), owned_by_a(200)),
    Call("api-cart-confirm", "POST", cart_url("api-cart-confirm"), owned_by_a(200)),
    Call("api-cart-release", "POST", cart_url("api-cart-release"), owned_by_a(200)),
    Call(
        "api-waitlist-entry",
        "GET",
        lambda w: reverse("api-waitlist-entry", kwargs={"entry_id": w.entry_of_a().id}),
        owned_by_a(200),
    ),
    Call(
        "api-waitlist-entry",
        "DELETE",
        lambda w: reverse("api-waitlist-entry", kwargs={"entry_id": w.entry_of_a().id}),
        owned_by_a(200),
    ),
    # --- the storefront ---
    Call("home", "GET", named("home"), everyone(200)),
    Call("catalogue", "GET", named("catalogue"), everyone(200)),
    Call("deliver-to", "POST", named("deliver-to"), everyone(302), data={"place": "Chennai"}),
    Call("product", "GET", product_url("product"), everyone(200)),
    Call(
        "product-reserve",
        "POST",
        product_url("product-reserve"),
        everyone(302),
        data=lambda w: {"warehouse": w.row.warehouse_id, "quantity": 1},
    ),
    Call(
        "product-add-to-cart",
        "POST",
        product_url("product-add-to-cart"),
        everyone(302),
        data=lambda w: {"warehouse": w.row.warehouse_id, "quantity": 1},
    ),
    Call(
        "product-waitlist",
        "POST",
        lambda w: reverse("product-waitlist", kwargs={"product_id": w.sold_out.product_id}),
        everyone(302),
        data=lambda w: {"warehouse": w.sold_out.warehouse_id, "quantity": 1, "email": "x@y.in"},
    ),
    # No terms on the row: a guest is sent to sign in, a signed-in shopper back with a message.
    Call(
        "product-preorder",
        "POST",
        lambda w: reverse("product-preorder", kwargs={"product_id": w.sold_out.product_id}),
        everyone(302),
        data=lambda w: {"warehouse": w.sold_out.warehouse_id, "quantity": 1, "method": "upi"},
    ),
    Call(
        "product-waitlist-leave",
        "POST",
        lambda w: reverse(
            "product-waitlist-leave", kwargs={"product_id": w.entry_of_a().product_id}
        ),
        owned_by_a(302),
        data=lambda w: {"entry": str(w.entry_of_a().id)},
    ),
    Call("cart", "GET", named("cart"), everyone(200), before=_to_cart),
    Call(
        "cart-line-quantity",
        "POST",
        named("cart-line-quantity", index=0),
        everyone(302),
        data=lambda w: {"product": w.row.product_id, "quantity": 2},
        before=_to_cart,
    ),
    Call(
        "cart-line-remove",
        "POST",
        named("cart-line-remove", index=0),
        everyone(302),
        data=lambda w: {"product": w.row.product_id},
        before=_to_cart,
    ),
    Call("cart-hold", "POST", named("cart-hold"), everyone(302), data={}, before=_to_cart),
    Call("orders", "GET", named("orders"), everyone(200)),
    # The stream is served by its ASGI process; a WSGI one answers 503 to everyone alike.
    Call("stock-events", "GET", named("stock-events"), everyone(503)),
    # --- shopper A's checkout pages ---
    Call("checkout", "GET", hold_url("checkout"), owned_by_a(200)),
    Call("checkout", "POST", hold_url("checkout"), owned_by_a(302), data={"action": "release"}),
    Call("checkout-pay", "GET", hold_url("checkout-pay"), owned_by_a(200)),
    Call("checkout-pay", "POST", hold_url("checkout-pay"), owned_by_a(302), data={"method": "upi"}),
    Call("cart-checkout", "GET", cart_url("cart-checkout"), owned_by_a(200)),
    Call(
        "cart-checkout",
        "POST",
        cart_url("cart-checkout"),
        owned_by_a(302),
        data={"action": "confirm"},
    ),
    # --- accounts ---
    Call("signup", "GET", named("signup"), signed_in_go_home(200)),
    Call(
        "signup",
        "POST",
        named("signup"),
        everyone(302),
        data={
            "email": "new@example.com",
            "password1": "a-Long-pass-42",
            "password2": "a-Long-pass-42",
        },
    ),
    Call("login", "GET", named("login"), signed_in_go_home(200)),
    Call(
        "login",
        "POST",
        named("login"),
        signed_in_go_home(200),
        data={"username": "nobody@example.com", "password": "wrong-password"},
    ),
    Call("logout", "POST", named("logout"), everyone(302)),
    Call("password_reset", "GET", named("password_reset"), everyone(200)),
    Call(
        "password_reset",
        "POST",
        named("password_reset"),
        everyone(302),
        data={"email": "nobody@example.com"},
    ),
    Call("password_reset_done", "GET", named("password_reset_done"), everyone(200)),
    Call(
        "password_reset_confirm",
        "GET",
        named("password_reset_confirm", uidb64="MQ", token="set-password"),
        everyone(200),
    ),
    Call("password_reset_complete", "GET", named("password_reset_complete"), everyone(200)),
    # --- the console's sign-in: open to all, but only staff get in ---
    Call("console-login", "GET", named("console-login"), {**everyone(200), STAFF: 302}),
    Call(
        "console-login",
        "POST",
        named("console-login"),
        everyone(401),
        data={"username": "nobody@example.com", "password": "wrong-password"},
    ),
    Call("console-logout", "POST", named("console-logout"), everyone(302)),
    Call(
        "console-api-login",
        "POST",
        named("console-api-login"),
        everyone(401),
        data={"email": "nobody@example.com", "password": "wrong-password"},
        content_type=JSON,
    ),
    Call(
        "console-api-logout",
        "POST",
        named("console-api-logout"),
        staff_api(200),
        data={},
        content_type=JSON,
    ),
    # --- the console: staff only ---
    Call("console-dashboard", "GET", named("console-dashboard"), console(200)),
    Call("console-stock", "GET", named("console-stock"), console(200)),
    Call("console-stock-csv", "GET", named("console-stock-csv"), console(200)),
    Call("console-inventory", "GET", named("console-inventory"), console(200)),
    Call(
        "console-inventory-total",
        "POST",
        lambda w: reverse("console-inventory-total", kwargs={"inventory_id": w.row.pk}),
        console(302),
        data={"total": 25, "expected_total": 10, "reason": "matrix"},
    ),
    Call(
        "console-inventory-threshold",
        "POST",
        lambda w: reverse("console-inventory-threshold", kwargs={"inventory_id": w.row.pk}),
        console(302),
        data={"threshold": 3},
    ),
    Call("console-products", "GET", named("console-products"), console(200)),
    Call("console-product-add", "GET", named("console-product-add"), console(200)),
    Call(
        "console-product-add",
        "POST",
        named("console-product-add"),
        console(302),
        data={
            "sku": "MATRIX-1",
            "name": "Matrix mat",
            "brand": "Acme",
            "category": "Fitness",
            "price": "10.00",
            "description": "",
            "active": "on",
        },
    ),
    Call("console-product-edit", "GET", product_url("console-product-edit"), console(200)),
    Call(
        "console-product-edit",
        "POST",
        product_url("console-product-edit"),
        console(302),
        data={
            "sku": "MATRIX-2",
            "name": "Renamed",
            "brand": "Acme",
            "category": "Fitness",
            "price": "1.00",
        },
    ),
    Call("console-warehouses", "GET", named("console-warehouses"), console(200)),
    Call("console-warehouse-add", "GET", named("console-warehouse-add"), console(200)),
    Call(
        "console-warehouse-add",
        "POST",
        named("console-warehouse-add"),
        console(302),
        data={
            "code": "MTX",
            "name": "Matrix",
            "location": "Here",
            "city": "Pune",
            "lat": 18.5,
            "lng": 73.8,
            "active": "on",
        },
    ),
    Call(
        "console-warehouse-edit",
        "GET",
        lambda w: reverse("console-warehouse-edit", kwargs={"warehouse_id": w.row.warehouse_id}),
        console(200),
    ),
    Call(
        "console-warehouse-edit",
        "POST",
        lambda w: reverse("console-warehouse-edit", kwargs={"warehouse_id": w.row.warehouse_id}),
        console(302),
        data={
            "code": "RNM",
            "name": "Renamed",
            "location": "There",
            "city": "Agra",
            "lat": 27,
            "lng": 78,
        },
    ),
    Call("console-inventory-import", "GET", named("console-inventory-import"), console(200)),
    Call(
        "console-inventory-import",
        "POST",
        named("console-inventory-import"),
        console(400),
        data={},
    ),
    # An unknown import token: staff reach the view, which answers 404 for it.
    Call(
        "console-inventory-import-job",
        "GET",
        named("console-inventory-import-job", token="no-such-job"),
        console(404),
    ),
    Call(
        "console-inventory-import-check",
        "POST",
        named("console-inventory-import-check", token="no-such-job"),
        console(404),
    ),
    Call(
        "console-inventory-import-apply",
        "POST",
        named("console-inventory-import-apply", token="no-such-job"),
        console(404),
    ),
    Call("console-transfers", "GET", named("console-transfers"), console(200)),
    Call(
        "console-transfers",
        "POST",
        named("console-transfers"),
        console(302),  # the destination gets a stock row for the product
        data=lambda w: {
            "source": w.row.warehouse_id,
            "destination": w.sold_out.warehouse_id,
            "lines-TOTAL_FORMS": 1,
            "lines-INITIAL_FORMS": 0,
            "lines-0-product": w.row.product_id,
            "lines-0-quantity": 1,
        },
    ),
    Call("console-transfer", "GET", transfer_url("console-transfer"), console(200)),
    Call("console-transfer-ship", "POST", transfer_url("console-transfer-ship"), console(302)),
    Call(
        "console-transfer-receive",
        "POST",
        transfer_url("console-transfer-receive", shipped=True),
        console(302),
        data=lambda w: {f"good-{w.row.product_id}": 1},
    ),
    Call(
        "console-transfer-cancel",
        "POST",
        transfer_url("console-transfer-cancel", shipped=True),
        console(302),
    ),
    Call("console-reservations", "GET", named("console-reservations"), console(200)),
    Call(
        "console-reservations-release",
        "POST",
        named("console-reservations-release"),
        console(303),
        data=lambda w: {"only": str(w.hold_of_a().id), "confirm": "yes"},
    ),
    Call("console-events", "GET", named("console-events"), console(200)),
    Call(
        "console-events-tail",
        "GET",
        lambda w: reverse("console-events-tail") + "?after=0",
        console(200),
    ),
    Call("console-events-csv", "GET", named("console-events-csv"), console(200)),
    Call("console-race", "GET", named("console-race"), console(200)),
    Call("console-analytics", "GET", named("console-analytics"), console(200)),
    Call("console-sales", "GET", named("console-sales"), console(200)),
    Call("console-sales", "POST", named("console-sales"), console(400), data={}),
    Call("console-sales-product", "GET", product_url("console-sales-product"), console(200)),
    Call(
        "console-sales-product",
        "POST",
        product_url("console-sales-product"),
        console(302),
        data={"limit_per_customer": "2"},
    ),
    Call("console-sales-channels", "GET", named("console-sales-channels"), console(200)),
    Call("console-sales-channels", "POST", named("console-sales-channels"), console(400), data={}),
    Call("console-sales-channel", "GET", named("console-sales-channel", code="web"), console(200)),
    Call(
        "console-sales-channel",
        "POST",
        named("console-sales-channel", code="web"),
        console(400),
        data={},
    ),
    Call("console-integrations", "GET", named("console-integrations"), console(200)),
    Call(
        "console-integrations",
        "POST",
        named("console-integrations"),
        console(200),  # the page with the new key, shown once
        data={"name": "matrix", "scopes": ["stock:read"]},
    ),
    Call(
        "console-integrations-revoke",
        "POST",
        lambda w: reverse("console-integrations-revoke", kwargs={"key_id": _key(w).pk}),
        console(302),
    ),
    Call("console-webhooks", "GET", named("console-webhooks"), console(200)),
    Call(
        "console-webhooks",
        "POST",
        named("console-webhooks"),
        console(400),  # reached: the loopback URL is refused
        data={"url": "http://127.0.0.1:9/x", "events": ["stock.changed"]},
    ),
    Call(
        "console-webhook-delete",
        "POST",
        lambda w: reverse("console-webhook-delete", kwargs={"webhook_id": _hook(w).pk}),
        console(302),
    ),
    Call(
        "console-webhook-deliveries",
        "GET",
        lambda w: reverse("console-webhook-deliveries", kwargs={"webhook_id": _hook(w).pk}),
        console(200),
    ),
    Call(
        "console-webhook-redeliver",
        "POST",
        lambda w: reverse(
            "console-webhook-redeliver", kwargs={"webhook_id": _hook(w).pk, "delivery_id": 1}
        ),
        console(302),  # reached: no such delivery, said on the page it goes back to
    ),
    # --- the stock API and webhooks: API keys or staff ---
    Call("api-stock-levels", "GET", named("api-stock-levels"), staff_api(200)),
    Call(
        "api-stock-level",
        "PUT",
        lambda w: reverse(
            "api-stock-level",
            kwargs={"product_id": w.row.product_id, "warehouse_id": w.row.warehouse_id},
        ),
        staff_api(428),  # reached: every stock write needs an Idempotency-Key
        data={"onHand": 12, "expectedVersion": 1},
    ),
    Call(
        "api-stock-adjustments",
        "POST",
        named("api-stock-adjustments"),
        staff_api(428),
        data=lambda w: {**_stock_line(w), "state": "onHand", "delta": 1, "reason": "RECEIVED"},
    ),
    Call(
        "api-stock-ledger",
        "GET",
        lambda w: (
            reverse("api-stock-ledger")
            + f"?productId={w.row.product_id}&warehouseId={w.row.warehouse_id}"
        ),
        staff_api(200),
    ),
    Call(
        "api-stock-preorders",
        "GET",
        lambda w: reverse(
            "api-stock-preorders",
            kwargs={"product_id": w.row.product_id, "warehouse_id": w.row.warehouse_id},
        ),
        staff_api(200),
    ),
    Call(
        "api-stock-preorders",
        "PUT",
        lambda w: reverse(
            "api-stock-preorders",
            kwargs={"product_id": w.row.product_id, "warehouse_id": w.row.warehouse_id},
        ),
        staff_api(428),  # reached: every stock write needs an Idempotency-Key
        data={"limit": 5},
    ),
    Call("api-transfers", "GET", named("api-transfers"), staff_api(200)),
    Call(
        "api-transfers",
        "POST",
        named("api-transfers"),
        staff_api(428),
        data=lambda w: {
            "fromWarehouseId": str(w.row.warehouse_id),
            "toWarehouseId": str(w.sold_out.warehouse_id),
            "lines": [{"productId": str(w.row.product_id), "quantity": 1}],
        },
    ),
    Call("api-transfer", "GET", transfer_url("api-transfer"), staff_api(200)),
    Call("api-transfer-ship", "POST", transfer_url("api-transfer-ship"), staff_api(428)),
    Call(
        "api-transfer-receive",
        "POST",
        transfer_url("api-transfer-receive", shipped=True),
        staff_api(428),
        data=lambda w: {"lines": [{"productId": str(w.row.product_id), "received": 1}]},
    ),
    Call(
        "api-transfer-cancel",
        "POST",
        transfer_url("api-transfer-cancel", shipped=True),
        staff_api(428),
    ),
    Call("api-webhooks", "GET", named("api-webhooks"), staff_api(200)),
    Call(
        "api-webhooks",
        "POST",
        named("api-webhooks"),
        staff_api(400),  # reached: the loopback URL is refused
        data={"url": "http://127.0.0.1:9/x", "events": ["stock.changed"]},
    ),
    Call(
        "api-webhook",
        "DELETE",
        lambda w: reverse("api-webhook", kwargs={"webhook_id": _hook(w).pk}),
        staff_api(200),
    ),
    Call(
        "api-webhook-deliveries",
        "GET",
        lambda w: reverse("api-webhook-deliveries", kwargs={"webhook_id": _hook(w).pk}),
        staff_api(200),
    ),
    Call(
        "api-webhook-redeliver",
        "POST",
        lambda w: reverse(
            "api-webhook-redeliver", kwargs={"webhook_id": _hook(w).pk, "delivery_id": 1}
        ),
        staff_api(404),  # reached: no such delivery
    ),
    Call("api-events", "GET", named("api-events"), staff_api(200)),
    # --- the sales staff API: API keys with scope `policies`, or staff ---
    Call("api-policy", "GET", product_url("api-policy"), staff_api(200)),
    Call(
        "api-policy",
        "PUT",
        product_url("api-policy"),
        staff_api(200),
        data={"limitPerCustomer": 2, "saleStartsAt": "2030-05-01T10:00:00+05:30"},
    ),
    Call("api-channels", "GET", named("api-channels"), staff_api(200)),
    Call(
        "api-channels",
        "POST",
        named("api-channels"),
        staff_api(201),
        data={"code": "matrix-new", "name": "Matrix"},
    ),
    Call(
        "api-channel-allocations",
        "GET",
        lambda w: reverse("api-channel-allocations", kwargs={"code": _channel(w).code}),
        staff_api(200),
    ),
    Call(
        "api-channel-allocation",
        "PUT",
        lambda w: reverse(
            "api-channel-allocation",
            kwargs={"code": _channel(w).code, "product_id": w.row.product_id},
        ),
        staff_api(200),
        data={"quota": 5, "bufferPercent": 10},
    ),
    Call(
        "api-availability",
        "GET",
        lambda w: reverse("api-availability") + f"?productId={w.row.product_id}",
        everyone(200),
    ),
    Call(
        "console-inventory-states",
        "POST",
        lambda w: reverse("console-inventory-states", kwargs={"inventory_id": w.row.pk}),
        console(302),
        data={"safety": 1, "unsellable": 0, "incoming": 4, "expected_version": 1},
    ),
    # --- the staff JSON API ---
    Call("console-api-stats", "GET", named("console-api-stats"), staff_api(200)),
    Call("api-admin-inventory", "GET", named("api-admin-inventory"), staff_api(200)),
    Call(
        "api-admin-inventory",
        "PATCH",
        named("api-admin-inventory"),
        staff_api(200),
        data=lambda w: {"inventoryId": w.row.pk, "totalStock": 25},
        content_type=JSON,
    ),
    Call("api-admin-logs", "GET", named("api-admin-logs"), staff_api(200)),
    Call(
        "api-demo-race", "POST", named("api-demo-race"), staff_api(400), data={}, content_type=JSON
    ),
    # --- Django's own admin ---
    Call(
        "django-admin",
        "GET",
        fixed("/django-admin/"),
        {**dict.fromkeys(ACTORS, DJANGO_LOGIN), STAFF: 200},
    ),
]

# STREAM_UNDER_ASGI: under ASGI the stream answers everyone alike, and never ends: an HTTP
# client that waits for the whole answer (httpx's ASGITransport does) cannot read it, so the
# matrix has no ASGI row for it. tests/test_live_stock.py and tests/test_served_app.py read it.

# Django's admin guards every one of its own routes with admin_site.admin_view; one row
# stands for them all.
DJANGO_ADMIN_PREFIX = "django-admin/"


def _routes(patterns, prefix: str = "") -> list[tuple[str, str | None]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append((prefix + str(pattern.pattern), pattern.name))
    return found


def test_every_route_has_a_matrix_row():
    rows = {call.name for call in CALLS}
    routes = {
        "django-admin" if path.startswith(DJANGO_ADMIN_PREFIX) else name
        for path, name in _routes(get_resolver().url_patterns)
    }
    assert None not in routes, "every route outside Django's admin has a name"
    assert sorted(routes - rows) == [], "routes without a row in the authorization matrix"
    assert sorted(rows - routes) == [], "matrix rows for routes that no longer exist"


@pytest.fixture(params=TRANSPORTS)
def transport(request) -> Iterator[str]:
    """How the actors' requests reach the app: in-process (wsgi) or through the ASGI app."""
    if request.param == ASGI:
        with committed_rows(request):
            yield ASGI
    else:
        yield request.param


@pytest.fixture
def world(transport) -> World:
    # No password: hashing one costs more than the test; sessions come from force_login.
    staff = UserFactory(email="staff@example.com", is_staff=True, password=None)
    staff.is_superuser = True  # Django's admin index shows its apps to a superuser
    staff.save()
    return World(
        row=InventoryFactory(total_stock=10),
        sold_out=InventoryFactory(total_stock=0),
        users={
            ANONYMOUS: None,
            SHOPPER_A: UserFactory(password=None),
            SHOPPER_B: UserFactory(password=None),
            STAFF: staff,
        },
        transport=transport,
    )


def client_for(world: World, actor: str, **kwargs) -> Client | AsgiClient:
    client = AsgiClient(**kwargs) if world.transport == ASGI else Client(**kwargs)
    if world.users[actor] is not None:
        client.force_login(world.users[actor])
    return client


def snapshot() -> dict:
    """Every row an action could change, as plain values."""
    models = [
        *(Reservation, ReservationEvent, WaitlistEntry, Inventory, Product, Warehouse),
        *(Channel, SalePolicy, Allocation, ApiKey, PreorderTerms),
        *(Transfer, TransferLine, TransferStep),
    ]
    state = {model.__name__: sorted(map(repr, model.objects.values())) for model in models}
    state["users"] = sorted(map(repr, get_user_model().objects.values("id", "email")))
    return state


def is_api(call: Call) -> bool:
    return call.name.startswith(("api-", "console-api-"))


def body_of(call: Call, world: World) -> dict:
    """The call's body; made before the snapshot, since making it may hold stock."""
    return (call.data(world) if callable(call.data) else call.data) or {}


def send(client: Client, call: Call, url: str, data: dict, **extra):
    if call.method == "GET":
        return client.get(url, **extra)
    if is_api(call) or call.content_type == JSON:
        return client.generic(call.method, url, json.dumps(data), JSON, **extra)
    return client.post(url, data, **extra)  # a form, as a browser sends it


def assert_outcome(response, expected: int | str, call: Call, actor: str) -> None:
    where = f"{call.id} as {actor}"
    if expected == LOGIN:
        assert response.status_code == 302, where
        assert response["Location"].startswith(reverse("console-login") + "?next="), where
    elif expected == DJANGO_LOGIN:
        assert response.status_code == 302, where
        assert response["Location"].startswith("/django-admin/login/"), where
    else:
        assert response.status_code == expected, (where, response.content[:300])
    if call.name.startswith(("api-", "console-api-")) and response.status_code >= 400:
        assert response["Content-Type"] == JSON, where
        assert "code" in response.json(), where


MATRIX = [
    pytest.param(way.values[0], call, id=f"{way.id}-{call.id}", marks=way.marks)
    for way in TRANSPORTS
    for call in CALLS
    if not (way.values[0] == ASGI and call.name == "stock-events")  # STREAM_UNDER_ASGI
]


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("transport", "call"), MATRIX, indirect=["transport"])
@override_settings(RESERVE_RATE_LIMIT="", PAYMENT_WEBHOOK_SECRET="matrix-secret")
def test_the_matrix(world, call, actor):
    client = client_for(world, actor)
    if call.before is not None:
        call.before(client, world)
    url, data = call.url(world), body_of(call, world)
    refused = call.expect[actor] in (LOGIN, DJANGO_LOGIN, 401, 403, 404)
    before = snapshot()

    response = send(client, call, url, data)

    assert_outcome(response, call.expect[actor], call, actor)
    if refused and call.method != "GET":
        assert snapshot() == before, f"{call.id} as {actor} was refused but changed data"


UNSAFE_FORMS = [c for c in CALLS if c.method != "GET" and not is_api(c)]
SESSION_APIS = [
    c
    for c in CALLS
    if c.method != "GET"
    and is_api(c)
    and c.name not in ("api-payments-webhook", "console-api-login", "console-api-logout")
    and not c.name.startswith(("api-admin-", "api-demo-"))
]


@pytest.mark.parametrize("call", UNSAFE_FORMS, ids=lambda call: call.id)
@override_settings(RESERVE_RATE_LIMIT="")
def test_every_form_refuses_a_post_without_its_csrf_token(world, call):
    """Anyone, staff included, whose form comes without the token gets 403 and changes nothing."""
    actor = (
        STAFF
        if call.expect[STAFF] not in (404,) and call.name.startswith("console-")
        else SHOPPER_A
    )
    for who in (ANONYMOUS, actor):
        client = client_for(world, who, enforce_csrf_checks=True)
        url, data = call.url(world), body_of(call, world)
        before = snapshot()

        response = send(client, call, url, data)

        assert response.status_code == 403, (call.id, who, response.status_code)
        assert snapshot() == before, f"{call.id} as {who} without a CSRF token changed data"


STAFF_UNSAFE_APIS = [
    c
    for c in CALLS
    if c.method != "GET" and c.name.startswith(("api-admin-", "api-demo-", "console-api-logout"))
]
# Every cookie-carrying API write with the actor whose cookies it carries.
COOKIE_WRITES = [
    *(pytest.param(call, SHOPPER_A, id=call.id) for call in SESSION_APIS),
    *(pytest.param(call, STAFF, id=call.id) for call in STAFF_UNSAFE_APIS),
]
CROSS_SITE = {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"}
SAME_ORIGIN = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "http://testserver"}


@pytest.mark.parametrize(("call", "actor"), COOKIE_WRITES)
@override_settings(RESERVE_RATE_LIMIT="")
def test_a_cross_site_api_write_is_refused_even_with_its_csrf_token(world, call, actor):
    """core.cross_origin: a signed-in browser's cross-site write is 403, shopper or staff.

    The clients pass Django's CSRF check (the ASGI one sends the token): it does not help.
    """
    client = client_for(world, actor)
    url, data = call.url(world), body_of(call, world)
    before = snapshot()

    response = send(client, call, url, data, **CROSS_SITE)

    assert response.status_code == 403, (call.id, response.content[:300])
    assert response["Content-Type"] == JSON
    assert snapshot() == before


@pytest.mark.parametrize(("call", "actor"), COOKIE_WRITES)
@override_settings(RESERVE_RATE_LIMIT="", PAYMENT_WEBHOOK_SECRET="matrix-secret")
def test_a_same_origin_api_write_needs_no_csrf_token(world, call, actor):
    """What the original UI sends: same-origin JSON, signed in, no X-CSRFToken."""
    client = client_for(world, actor, enforce_csrf_checks=True)
    if call.before is not None:
        call.before(client, world)
    url, data = call.url(world), body_of(call, world)

    response = send(client, call, url, data, **SAME_ORIGIN)

    assert_outcome(response, call.expect[actor], call, actor)


def test_a_staff_api_write_sent_as_a_form_is_refused(world):
    """A cross-site form cannot send JSON, so the staff API takes nothing else."""
    client = client_for(world, STAFF, enforce_csrf_checks=True)
    url = reverse("api-admin-inventory")
    before = snapshot()

    response = client.generic(
        "PATCH",
        url,
        f"inventoryId={world.row.pk}&totalStock=25",
        "application/x-www-form-urlencoded",
    )

    assert response.status_code == 403
    assert snapshot() == before


# --- lists: nobody sees another shopper's things ---------------------------------------------


def test_a_shopper_lists_only_their_own_holds(world):
    hold = world.hold_of_a()
    for actor, sees in ((SHOPPER_A, True), (SHOPPER_B, False), (ANONYMOUS, False), (STAFF, True)):
        client = client_for(world, actor)
        listed = [item["id"] for item in client.get(reverse("api-reservations")).json()]
        assert (str(hold.id) in listed) is sees, actor
        page = client.get(reverse("orders")).content.decode()
        assert (str(hold.id) in page) is sees or actor == STAFF, actor


def test_a_shoppers_cart_checkout_names_no_other_shoppers_holds(world):
    cart_id = world.cart_of_a()
    response = client_for(world, SHOPPER_B).get(
        reverse("cart-checkout", kwargs={"cart_id": cart_id})
    )

    assert response.status_code == 404
    assert str(cart_id) not in response.content.decode()
