"""Shoppers wait for stock that is gone; freed units go to them first come, first served."""

import re
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from rest_framework.test import APIClient

from inventory.errors import StockBelowReserved
from inventory.models import Inventory
from reservations import locks
from reservations.errors import InsufficientStock
from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.services import holds, sweeps, transitions, waitlist
from reservations.services.stock import adjust_stock
from tests.factories import InventoryFactory
from tests.races import JOIN_TIMEOUT_SECONDS, run_together, unexpected_errors

Status = WaitlistEntry.Status
promotion = pytest.mark.django_db(transaction=True)  # promotion runs after a real commit


def sold_out(total: int = 1) -> tuple[Inventory, list[Reservation]]:
    """A stock row whose every unit is held, one unit per hold."""
    row = InventoryFactory(total_stock=total)
    held = [
        holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
        for _ in range(total)
    ]
    return row, held


def join(row: Inventory, quantity: int = 1, email: str = "ann@example.com") -> WaitlistEntry:
    return waitlist.join_waitlist(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=quantity,
        email=email,
    )


def join_body(row: Inventory, **changes) -> dict:
    body = {
        "productId": row.product_id,
        "warehouseId": row.warehouse_id,
        "quantity": 1,
        "email": "a@b.co",
    }
    return {**body, **changes}


def status_of(entry: WaitlistEntry) -> str:
    entry.refresh_from_db()
    return entry.status


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_joining_answers_201_with_the_place_in_the_queue(api):
    row, _ = sold_out()
    first = api.post("/api/waitlist", join_body(row, email="ann@example.com"), format="json")
    second = api.post("/api/waitlist", join_body(row, email="bob@example.com"), format="json")

    assert first.status_code == 201
    assert first.json()["status"] == "WAITING" and first.json()["position"] == 1
    assert second.json()["position"] == 2
    assert first.json()["reservationId"] is None
    assert ReservationEvent.objects.filter(type="WAITLIST_JOINED").count() == 2


@pytest.mark.django_db
def test_joining_while_units_are_available_answers_409_and_writes_nothing(api):
    row = InventoryFactory(total_stock=3)
    response = api.post("/api/waitlist", join_body(row, quantity=3), format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "STOCK_AVAILABLE" and response.json()["available"] == 3
    assert not WaitlistEntry.objects.exists() and not ReservationEvent.objects.exists()


@pytest.mark.django_db
def test_waiting_for_more_than_is_left_is_allowed(api):
    row = InventoryFactory(total_stock=3)
    response = api.post("/api/waitlist", join_body(row, quantity=4), format="json")
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"email": "not-an-email"},
        {"email": None},
        {"quantity": 0},
        {"quantity": 101},
        {"quantity": "1"},
        {"productId": "x"},
        {"note": "please"},
    ],
)
def test_bad_waitlist_input_answers_400_and_writes_nothing(api, change):
    row, _ = sold_out()
    response = api.post("/api/waitlist", join_body(row, **change), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "VALIDATION_ERROR"
    assert not WaitlistEntry.objects.exists()


@pytest.mark.django_db
def test_joining_for_an_unknown_product_answers_404(api):
    row, _ = sold_out()
    response = api.post("/api/waitlist", join_body(row, productId=987654), format="json")
    assert response.status_code == 404
    assert not WaitlistEntry.objects.exists()


@pytest.mark.django_db
def test_reading_and_cancelling_an_entry(api):
    row, _ = sold_out()
    first, second = join(row), join(row)

    assert api.get(f"/api/waitlist/{second.id}").json()["position"] == 2
    cancelled = api.delete(f"/api/waitlist/{first.id}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["position"] is None
    assert api.get(f"/api/waitlist/{second.id}").json()["position"] == 1
    assert api.delete(f"/api/waitlist/{first.id}").status_code == 200
    assert ReservationEvent.objects.filter(type="WAITLIST_CANCELLED").count() == 1


@pytest.mark.django_db
def test_unknown_or_malformed_entry_ids(api):
    assert api.get(f"/api/waitlist/{uuid.uuid4()}").status_code == 404
    assert api.delete(f"/api/waitlist/{uuid.uuid4()}").status_code == 404
    assert api.get("/api/waitlist/nope").status_code == 400


@pytest.mark.django_db
def test_a_shoppers_entry_is_invisible_to_others(api, django_user_model):
    row, _ = sold_out()
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    bob = django_user_model.objects.create_user("bob", password="pw-123456")
    api.force_login(ann)
    entry_id = api.post("/api/waitlist", join_body(row), format="json").json()["id"]
    api.force_login(bob)
    assert api.get(f"/api/waitlist/{entry_id}").status_code == 404
    assert api.delete(f"/api/waitlist/{entry_id}").status_code == 404
    assert WaitlistEntry.objects.get().status == Status.WAITING


# --- promotion -------------------------------------------------------------------------------


@promotion
def test_a_release_promotes_the_oldest_waiting_entry(mailoutbox):
    row, (hold,) = sold_out()
    first, second = join(row, email="first@example.com"), join(row, email="second@example.com")

    transitions.release(reservation_id=hold.id)

    assert status_of(first) == Status.PROMOTED and status_of(second) == Status.WAITING
    reservation = Reservation.objects.get(pk=first.reservation_id)
    assert (reservation.status, reservation.quantity) == (Reservation.Status.PENDING, 1)
    assert waitlist.position(second) == 1
    promoted = ReservationEvent.objects.get(type="WAITLIST_PROMOTED")
    assert promoted.reservation_id == reservation.id
    (message,) = mailoutbox
    assert message.to == ["first@example.com"]
    assert f"/checkout/{reservation.id}/" in message.body
    assert find_violations() == []
    # The emailed link opens the hold's checkout page.
    (link,) = re.findall(rf"{re.escape(settings.SITE_URL)}/\S+", message.body)
    assert link == f"{settings.SITE_URL}/checkout/{reservation.id}/"
    page = Client().get(link.removeprefix(settings.SITE_URL))
    assert page.status_code == 200
    assert "storefront/checkout.html" in [template.name for template in page.templates]
    html = page.content.decode()
    assert f"1 × {escape(reservation.product.name)} from" in html
    assert 'data-status="PENDING"' in html
    assert f'<dd data-testid="status">{reservation.get_status_display()}</dd>' in html


@promotion
def test_the_expiry_sweep_promotes(mailoutbox):
    row, (hold,) = sold_out()
    entry = join(row)
    Reservation.objects.filter(pk=hold.id).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert sweeps.expire_due_reservations() == 1

    assert status_of(entry) == Status.PROMOTED
    assert len(mailoutbox) == 1


@promotion
def test_the_cron_endpoint_counts_promotions(settings):
    settings.CRON_SECRET = "cron"
    row, held = sold_out(total=2)
    join(row)
    join(row)
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET="cron")

    assert response.json() == {"released": 2, "waitlistPromotions": 2}


@promotion
def test_adding_stock_promotes_in_fifo_order():
    row, _ = sold_out()
    entries = [join(row, email=f"shopper{i}@example.com") for i in range(3)]

    adjust_stock(product_id=row.product_id, warehouse_id=row.warehouse_id, delta=2, actor="test")

    assert [status_of(e) for e in entries] == [Status.PROMOTED, Status.PROMOTED, Status.WAITING]
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (3, 3)
    assert ReservationEvent.objects.get(type="STOCK_ADJUSTED").payload["after"] == 3


@promotion
def test_promotion_skips_entries_that_do_not_fit():
    row, (hold,) = sold_out()
    big, small = join(row, quantity=3), join(row, quantity=1)

    transitions.release(reservation_id=hold.id)

    assert status_of(big) == Status.WAITING and status_of(small) == Status.PROMOTED


@promotion
def test_a_cancelled_entry_is_not_promoted():
    row, (hold,) = sold_out()
    entry = join(row)
    waitlist.cancel_entry(entry_id=entry.id, user=None)
    transitions.release(reservation_id=hold.id)
    assert status_of(entry) == Status.CANCELLED
    assert Reservation.objects.filter(status="PENDING").count() == 0


@promotion
def test_cancelling_a_promoted_entry_answers_409():
    row, (hold,) = sold_out()
    entry = join(row)
    transitions.release(reservation_id=hold.id)
    response = APIClient().delete(f"/api/waitlist/{entry.id}")
    assert response.status_code == 409
    assert response.json()["error"] == "INVALID_TRANSITION"
    assert status_of(entry) == Status.PROMOTED


@promotion
def test_removing_held_units_is_refused():
    row, _ = sold_out(total=2)
    with pytest.raises(StockBelowReserved):
        adjust_stock(product_id=row.product_id, warehouse_id=row.warehouse_id, delta=-1, actor="t")
    row.refresh_from_db()
    assert row.total_stock == 2


@promotion
def test_the_promotion_email_is_sent_once(mailoutbox):
    row, (hold,) = sold_out()
    join(row)
    transitions.release(reservation_id=hold.id)
    waitlist.promote_waiting(product_id=row.product_id, warehouse_id=row.warehouse_id)
    sweeps.expire_due_reservations()
    assert len(mailoutbox) == 1


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waiting_behind(blocker: int, pids: dict[int, int]) -> set[int]:
    """Return the keys of `pids` whose backend waits for a lock `blocker` holds, directly or
    behind another waiter (pg_blocking_pids reads the lock manager as it is now)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, pg_blocking_pids(pid) FROM unnest(%s::int[]) AS pid",
            [list(pids.values())],
        )
        blocked_by = {pid: set(blockers) for pid, blockers in cursor.fetchall()}
    behind = {blocker}
    while grown := {pid for pid, blockers in blocked_by.items() if blockers & behind} - behind:
        behind |= grown
    return {key for key, pid in pids.items() if pid in behind}


SHOPPERS_DURING_PROMOTION = 8


@promotion
def test_shoppers_arriving_while_a_promotion_runs_wait_for_it_and_the_queue_is_served_first(
    monkeypatch,
):
    """Freed units go to the waitlist, not to shoppers who come once promotion has begun.

    The release's promotion is stopped right after it has locked the waiting entries; only
    then are the shoppers released, together. Because promotion locked the stock row first,
    each shopper's hold waits for it (asked of PostgreSQL's lock manager with
    pg_blocking_pids, never guessed from a sleep) and then finds the unit gone. Had promotion
    locked the row later or not at all, the shoppers would take the unit while it is
    stopped, and the oldest entry would be skipped: this test fails then.
    """
    row, (hold,) = sold_out()
    first, second = join(row, email="first@example.com"), join(row, email="second@example.com")
    pids: dict[int, int] = {}
    done: set[int] = set()
    raced: list[list] = []

    def shop(index: int) -> Reservation:
        pids[index] = _backend_pid()
        try:
            return holds.reserve(
                product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1
            )
        finally:
            done.add(index)

    shoppers = threading.Thread(
        target=lambda: raced.append(run_together(SHOPPERS_DURING_PROMOTION, shop))
    )
    lock_waiting_entries = locks.lock_waiting_entries

    def lock_entries_then_let_shoppers_in(**row_key):
        entries = lock_waiting_entries(**row_key)
        if shoppers.ident is None:  # only the release's promotion stops here
            promoter = _backend_pid()
            shoppers.start()
            deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
            while len(done | _waiting_behind(promoter, dict(pids))) < SHOPPERS_DURING_PROMOTION:
                assert time.monotonic() < deadline, f"shoppers neither done nor waiting: {pids}"
                time.sleep(0.01)
        return entries

    monkeypatch.setattr(locks, "lock_waiting_entries", lock_entries_then_let_shoppers_in)
    try:
        transitions.release(reservation_id=hold.id)
    finally:
        if shoppers.ident is not None:
            shoppers.join()

    (outcomes,) = raced
    assert unexpected_errors(outcomes, InsufficientStock) == []
    shoppers_served = sum(1 for o in outcomes if o.error is None)
    assert shoppers_served == 0
    assert all(o.error.extra == {"available": 0} for o in outcomes)
    assert status_of(first) == Status.PROMOTED and status_of(second) == Status.WAITING
    promoted = status_of(first) == Status.PROMOTED
    assert shoppers_served + promoted == 1
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (1, 1)
    assert list(Reservation.objects.pending().values_list("pk", flat=True)) == [
        first.reservation_id
    ]
    assert find_violations() == []


@promotion
def test_two_releases_at_once_promote_two_different_entries(mailoutbox):
    row, held = sold_out(total=2)
    first, second = join(row, email="one@example.com"), join(row, email="two@example.com")

    outcomes = run_together(2, lambda i: transitions.release(reservation_id=held[i].id))

    assert unexpected_errors(outcomes) == []
    assert status_of(first) == Status.PROMOTED and status_of(second) == Status.PROMOTED
    assert first.reservation_id != second.reservation_id
    assert sorted(m.to[0] for m in mailoutbox) == ["one@example.com", "two@example.com"]
    assert find_violations() == []
