"""Signed outbound events: the dispatcher turns committed ledger entries into events (exact
crossings, coalesced stock.changed, reservation.*), webhooks receive them signed, in sequence
order per row, retried until delivered; `GET /api/events` polls the same events with a
cursor that never skips one that committed late. Each test delivers to a real HTTP receiver
on the loopback."""

import time
from collections import defaultdict
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from integrations import delivery
from integrations.keys import create_key
from integrations.models import Delivery, Event, Webhook
from inventory.models import Inventory
from payments import signatures
from reservations.errors import InsufficientStock
from reservations.services import holds, transitions
from tests.dispatching import catch_up, pull_to_the_end
from tests.factories import InventoryFactory
from tests.ledger_sql import one_unit_sql
from tests.races import connect, run_together
from tests.webhook_receiver import receiving

pytestmark = pytest.mark.django_db(transaction=True)

STOCK_EVENTS = ["stock.changed", "stock.out_of_stock", "stock.back_in_stock", "stock.low"]


@pytest.fixture(autouse=True)
def private_networks_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_RETRY_BASE_MS = 1


@pytest.fixture
def hooks() -> APIClient:
    return APIClient(
        headers={"Authorization": f"Bearer {create_key(name='h', scopes=['webhooks']).plain}"}
    )


def subscribe(client: APIClient, url: str, events: list[str]) -> dict:
    response = client.post("/api/webhooks", {"url": url, "events": events}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def pass_and_deliver() -> None:
    catch_up()
    for webhook_id in Webhook.objects.values_list("pk", flat=True):
        delivery.deliver_pending(webhook_id)


def reserve(row: Inventory, quantity: int = 1):
    return holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity
    )


def test_a_delivery_is_signed_and_carries_the_event(hooks):
    row = InventoryFactory(total_stock=5)
    with receiving() as receiver:
        hook = subscribe(hooks, receiver.url, ["reservation.created", "stock.changed"])
        hold = reserve(row, 2)
        pass_and_deliver()

    # The row's opening and the hold may come in one pass or two: one stock.changed each.
    (created,) = [r for r in receiver.requests if r.body["type"] == "reservation.created"]
    changed = [r for r in receiver.requests if r.body["type"] == "stock.changed"][-1]
    for request in receiver.requests:
        signed_at = signatures.verify(
            request.headers["Stockd-Signature"],
            request.raw,
            secrets=[hook["secret"]],
            now=time.time(),
        )
        assert abs(signed_at - time.time()) < 60
        assert request.headers["Stockd-Event-Id"] == request.body["id"]
    stock = {
        "productId": str(row.product_id), "warehouseId": str(row.warehouse_id), "onHand": 5,
        "held": 2, "safety": 0, "unsellable": 0, "incoming": 0, "available": 3, "version": 2,
    }  # fmt: skip
    assert created.body["type"] == "reservation.created"
    assert created.body["sequence"] == 2
    assert created.body["data"]["reservation"]["id"] == str(hold.id)
    assert created.body["data"]["reservation"]["status"] == "PENDING"
    assert {k: created.body["data"][k] for k in stock} == stock
    assert changed.body["type"] == "stock.changed" and changed.body["data"] == stock
    assert set(created.body) == {"id", "type", "createdAt", "sequence", "data"}


def test_two_hundred_holds_for_five_units_cross_zero_once_and_a_release_crosses_back_once(hooks):
    row = InventoryFactory(total_stock=5)

    def hold_one(_):
        try:
            return reserve(row)
        except InsufficientStock:
            return None

    catch_up()  # the row's opening (0 -> 5 is a crossing too)
    with receiving() as receiver:
        subscribe(hooks, receiver.url, ["stock.out_of_stock", "stock.back_in_stock"])
        held = [o.value for o in run_together(200, hold_one) if o.value is not None]
        pass_and_deliver()
        transitions.release(reservation_id=held[0].id)
        pass_and_deliver()

    assert len(held) == 5
    assert [body["type"] for body in receiver.delivered()] == [
        "stock.out_of_stock",
        "stock.back_in_stock",
    ]
    out, back = receiver.delivered()
    assert (out["data"]["available"], out["sequence"]) == (0, 6)
    assert (back["data"]["available"], back["sequence"]) == (1, 7)


def test_stock_changed_is_coalesced_per_row_and_pass_with_the_latest_states(hooks):
    row = InventoryFactory(total_stock=9)
    catch_up()  # the row's opening
    with receiving() as receiver:
        subscribe(hooks, receiver.url, ["stock.changed", "stock.low"])
        for _ in range(7):
            reserve(row)
        pass_and_deliver()

    changed = [b for b in receiver.delivered() if b["type"] == "stock.changed"]
    low = [b for b in receiver.delivered() if b["type"] == "stock.low"]
    # One per row per pass (a pass may stop short of the newest entries while another
    # worker's transaction is open): fewer than the changes, ending on the latest states.
    assert 1 <= len(changed) < 7
    assert (changed[-1]["sequence"], changed[-1]["data"]["available"]) == (8, 2)
    assert [(b["sequence"], b["data"]["available"]) for b in low] == [(7, 3)]  # threshold 3


def test_a_failing_receiver_gets_every_event_once_in_sequence_order_per_row(hooks):
    rows = [InventoryFactory(total_stock=50), InventoryFactory(total_stock=50)]
    answers = iter([500] * 6 + [503] * 3)
    with receiving() as receiver:
        receiver.answer = lambda: next(answers, 200)
        subscribe(hooks, receiver.url, ["reservation.created", "reservation.released"])
        for n in range(12):
            hold = reserve(rows[n % 2])
            if n % 3 == 0:
                transitions.release(reservation_id=hold.id)
            if n % 4 == 0:
                catch_up()
        catch_up()
        deadline = time.monotonic() + 30
        while Delivery.objects.exclude(status="DELIVERED").exists():
            assert time.monotonic() < deadline, "deliveries still pending"
            delivery.deliver_pending(Webhook.objects.get().pk)
            time.sleep(0.01)

    assert len(receiver.requests) > len(receiver.delivered())  # it did fail, and was retried
    events = {str(e.public_id): e for e in Event.objects.filter(type__startswith="reservation.")}
    assert set(receiver.unique()) == set(events)  # every event, none lost
    assert len(receiver.delivered()) == len(events)  # and each delivered once
    by_row = defaultdict(list)
    for body in receiver.delivered():
        by_row[(body["data"]["productId"], body["data"]["warehouseId"])].append(body["sequence"])
    assert all(sequences == sorted(sequences) for sequences in by_row.values())
    assert len(by_row) == 2


def test_a_delivery_dead_after_a_day_is_redelivered_on_request(hooks):
    row = InventoryFactory(total_stock=5)
    with receiving() as receiver:
        receiver.answer = lambda: 500
        hook = subscribe(hooks, receiver.url, ["reservation.created"])
        reserve(row)
        pass_and_deliver()
        with time_machine.travel(timezone.now() + timedelta(hours=25)):
            delivery.deliver_pending(int(hook["id"]))
        dead = Delivery.objects.get()
        assert (dead.status, dead.attempts, dead.last_status_code) == ("DEAD", 2, 500)

        receiver.answer = lambda: 200
        listed = hooks.get(f"/api/webhooks/{hook['id']}/deliveries").json()
        retried = hooks.post(f"/api/webhooks/{hook['id']}/deliveries/{listed[0]['id']}/retry")

    assert listed[0]["status"] == "DEAD"
    assert retried.status_code == 202
    dead.refresh_from_db()
    assert dead.status == "DELIVERED"
    assert receiver.delivered()[0]["id"] == listed[0]["eventId"]


def test_a_receiver_that_redirects_is_not_followed(hooks):
    row = InventoryFactory(total_stock=5)
    with receiving() as receiver:
        receiver.answer = lambda: 307
        subscribe(hooks, receiver.url, ["reservation.created"])
        reserve(row)
        pass_and_deliver()

    assert len(receiver.requests) == 1
    assert Delivery.objects.get().last_error == "HTTP 307"


def test_webhook_urls_into_private_networks_are_refused(hooks, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest"):
        response = hooks.post("/api/webhooks", {"url": url, "events": STOCK_EVENTS}, format="json")
        assert response.status_code == 400, url
        assert "loopback, private or link-local" in response.json()["details"]["formErrors"][0]
    assert not Webhook.objects.exists()


def test_webhooks_are_listed_without_secrets_and_deleted(hooks):
    made = subscribe(hooks, "http://127.0.0.1:9/x", STOCK_EVENTS)

    listed = hooks.get("/api/webhooks").json()
    deleted = hooks.delete(f"/api/webhooks/{made['id']}")

    assert [(h["id"], h["url"]) for h in listed] == [(made["id"], "http://127.0.0.1:9/x")]
    assert "secret" not in listed[0]
    assert deleted.status_code == 200 and deleted.json()["id"] == made["id"]
    assert hooks.delete(f"/api/webhooks/{made['id']}").status_code == 404
    stock_key = APIClient(
        headers={"Authorization": f"Bearer {create_key(name='s', scopes=['stock:read']).plain}"}
    )
    assert stock_key.get("/api/webhooks").status_code == 403


HOLD_ONE_UNIT_SQL = one_unit_sql("reserved_stock", "held", "ADJUSTED")


def test_the_events_cursor_never_misses_an_event_that_commits_late(hooks):
    """A transaction takes a lower ledger id, another commits a higher one first: a reader
    must not move past the lower id before its transaction commits."""
    early, late = InventoryFactory(total_stock=5), InventoryFactory(total_stock=5)
    _, cursor = pull_to_the_end(hooks)
    slow = connect()
    try:
        with slow.transaction():  # holds ledger id N, commits last
            slow.execute("SELECT id FROM inventory_inventory WHERE id = %s FOR UPDATE", [early.pk])
            slow.execute(HOLD_ONE_UNIT_SQL, [early.pk])
            reserve(late)  # ledger id N + 1, committed now
            while_open = hooks.get("/api/events", {"after": cursor}).json()
        events, _ = pull_to_the_end(hooks, while_open["next"])
    finally:
        slow.close()

    assert while_open["events"] == []
    seen = {(e["type"], e["data"]["productId"]) for e in events}
    assert ("stock.changed", str(early.product_id)) in seen
    assert ("reservation.created", str(late.product_id)) in seen
