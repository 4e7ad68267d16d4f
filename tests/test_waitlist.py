"""Shoppers wait for stock that is gone; freed units go to them first come, first served."""

import re
import threading
import time
import uuid
from datetime import datetime, timedelta

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
from tests.factories import InventoryFactory, UserFactory, WaitlistEntryFactory
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
    """Put a new entry on the row's waitlist through the service."""
    joined = waitlist.join_waitlist(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=quantity,
        email=email,
    )
    assert joined.created
    return joined.entry


def join_body(row: Inventory, **changes) -> dict:
    body = {
        "productId": str(row.product_id),
        "warehouseId": str(row.warehouse_id),
        "quantity": 1,
        "email": "a@b.co",
    }
    return {**body, **changes}


def status_of(entry: WaitlistEntry) -> str:
    entry.refresh_from_db()
    return entry.status


# --- the API ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_joining_answers_201_with_the_entry_and_its_place_in_the_queue(api):
    row, _ = sold_out()
    first = api.post("/api/waitlist", join_body(row, email="ann@example.com"), format="json")
    second = api.post("/api/waitlist", join_body(row, email="bob@example.com"), format="json")

    assert first.status_code == 201 and second.status_code == 201
    ann, bob = WaitlistEntry.objects.order_by("created_at", "pk")
    assert first.json() == {
        "entry": {
            "id": str(ann.id),
            "status": "WAITING",
            "position": 1,
            "reservationId": None,
            "productId": str(row.product_id),
            "warehouseId": str(row.warehouse_id),
            "quantity": 1,
            "email": "ann@example.com",
            "createdAt": first.json()["entry"]["createdAt"],
        },
        "message": f"You're #1 on the waitlist for {row.product.name} at {row.warehouse.name}. "
        "We'll hold the units for you and email you when they come back.",
    }
    assert datetime.fromisoformat(first.json()["entry"]["createdAt"]) == ann.created_at
    assert second.json()["entry"]["id"] == str(bob.id)
    assert second.json()["entry"]["position"] == 2
    assert second.json()["message"].startswith("You're #2 on the waitlist for ")
    assert ReservationEvent.objects.filter(type="WAITLIST_JOINED").count() == 2


@pytest.mark.django_db
def test_joining_while_units_are_available_answers_400_and_writes_nothing(api):
    row = InventoryFactory(total_stock=3)
    response = api.post("/api/waitlist", join_body(row, quantity=3), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "STOCK_AVAILABLE" and body["available"] == 3
    assert body["error"]
    assert not WaitlistEntry.objects.exists() and not ReservationEvent.objects.exists()


@pytest.mark.django_db
def test_waiting_for_more_than_is_left_is_allowed(api):
    row = InventoryFactory(total_stock=3)
    response = api.post("/api/waitlist", join_body(row, quantity=4), format="json")
    assert response.status_code == 201
    assert response.json()["entry"]["quantity"] == 4


@pytest.mark.django_db
def test_the_same_email_joining_again_answers_409_with_the_waiting_entry_and_writes_nothing(api):
    row, _ = sold_out()
    first = api.post("/api/waitlist", join_body(row, email="ann@example.com"), format="json")
    api.post("/api/waitlist", join_body(row, email="bob@example.com"), format="json")

    again = api.post(
        "/api/waitlist", join_body(row, email="ANN@Example.com", quantity=2), format="json"
    )

    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "ALREADY_WAITING" and body["error"]
    assert body["entry"] == first.json()["entry"]
    assert body["position"] == 1
    assert WaitlistEntry.objects.count() == 2
    assert WaitlistEntry.objects.get(pk=first.json()["entry"]["id"]).quantity == 1
    assert ReservationEvent.objects.filter(type="WAITLIST_JOINED").count() == 2


@pytest.mark.django_db
def test_the_same_email_may_join_again_once_it_stopped_waiting_and_elsewhere(api):
    row, _ = sold_out()
    elsewhere = InventoryFactory(product=row.product, total_stock=0)
    first = api.post("/api/waitlist", join_body(row), format="json").json()["entry"]
    assert api.delete(f"/api/waitlist/{first['id']}").status_code == 200

    again = api.post("/api/waitlist", join_body(row), format="json")
    other_warehouse = api.post("/api/waitlist", join_body(elsewhere), format="json")

    assert again.status_code == 201 and again.json()["entry"]["id"] != first["id"]
    assert again.json()["entry"]["position"] == 1
    assert other_warehouse.status_code == 201
    assert WaitlistEntry.objects.filter(status=Status.WAITING).count() == 2


@pytest.mark.django_db
def test_joining_twice_through_the_service_returns_the_waiting_entry_uncreated():
    row, _ = sold_out()
    entry = join(row, email="ann@example.com")

    again = waitlist.join_waitlist(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=1,
        email="Ann@example.com",
    )

    assert again == waitlist.Joined(entry, created=False)
    assert WaitlistEntry.objects.count() == 1


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
        {"productId": "5.0"},
        {"warehouseId": True},
        {"note": "please"},
    ],
)
def test_bad_waitlist_input_answers_400_and_writes_nothing(api, change):
    row, _ = sold_out()
    response = api.post("/api/waitlist", join_body(row, **change), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["error"] == "Invalid input"
    (field,) = change
    assert body["details"]["formErrors"] == [] and list(body["details"]["fieldErrors"]) == [field]
    assert not WaitlistEntry.objects.exists()


@pytest.mark.django_db
def test_joining_for_an_unknown_product_answers_404(api):
    row, _ = sold_out()
    response = api.post("/api/waitlist", join_body(row, productId="987654"), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert not WaitlistEntry.objects.exists()


@pytest.mark.django_db
def test_reading_and_cancelling_an_entry(api):
    row, _ = sold_out()
    first, second = join(row, email="ann@example.com"), join(row, email="bob@example.com")

    assert api.get(f"/api/waitlist/{second.id}").json()["position"] == 2
    cancelled = api.delete(f"/api/waitlist/{first.id}")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["position"] is None
    assert api.get(f"/api/waitlist/{second.id}").json()["position"] == 1
    assert api.delete(f"/api/waitlist/{first.id}").status_code == 200
    assert ReservationEvent.objects.filter(type="WAITLIST_CANCELLED").count() == 1


@pytest.mark.django_db
def test_unknown_or_malformed_entry_ids(api):
    for response in (
        api.get(f"/api/waitlist/{uuid.uuid4()}"),
        api.delete(f"/api/waitlist/{uuid.uuid4()}"),
    ):
        assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    malformed = api.get("/api/waitlist/nope")
    assert malformed.status_code == 400 and malformed.json()["code"] == "INVALID_ID"


@pytest.mark.django_db
def test_a_shoppers_entry_is_invisible_to_others(api, django_user_model):
    row, _ = sold_out()
    ann = django_user_model.objects.create_user("ann", password="pw-123456")
    bob = django_user_model.objects.create_user("bob", password="pw-123456")
    api.force_login(ann)
    entry_id = api.post("/api/waitlist", join_body(row), format="json").json()["entry"]["id"]
    api.force_login(bob)
    assert api.get(f"/api/waitlist/{entry_id}").status_code == 404
    assert api.delete(f"/api/waitlist/{entry_id}").status_code == 404
    assert WaitlistEntry.objects.get().status == Status.WAITING


@pytest.mark.django_db
def test_only_staff_list_the_waitlist(api):
    row, _ = sold_out()
    join(row, email="ann@example.com")
    shopper, staff = APIClient(), APIClient()
    shopper.force_login(UserFactory())
    staff.force_login(UserFactory(is_staff=True))

    anonymous = api.get("/api/waitlist")
    refused = shopper.get("/api/waitlist")
    listed = staff.get("/api/waitlist")

    assert anonymous.status_code == 403 and anonymous.json()["code"] == "NOT_AUTHENTICATED"
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert b"ann@example.com" not in anonymous.content + refused.content
    assert listed.status_code == 200
    assert [e["email"] for e in listed.json()] == ["ann@example.com"]
    assert listed["X-Total-Count"] == "1"


@pytest.mark.django_db
def test_the_waitlist_lists_every_entry_newest_first_in_pages(api):
    now = timezone.now()
    entries = [
        WaitlistEntryFactory(created_at=now - timedelta(minutes=minutes), status=status)
        for minutes, status in [(3, Status.WAITING), (2, Status.CANCELLED), (1, Status.WAITING)]
    ]
    api.force_login(UserFactory(is_staff=True))

    everything = api.get("/api/waitlist")
    page = api.get("/api/waitlist", {"limit": 1, "offset": 1})

    newest_first = [str(e.id) for e in reversed(entries)]
    assert [e["id"] for e in everything.json()] == newest_first
    assert [e["status"] for e in everything.json()] == ["WAITING", "CANCELLED", "WAITING"]
    assert everything["X-Total-Count"] == "3"
    assert [e["id"] for e in page.json()] == newest_first[1:2]
    assert page["X-Total-Count"] == "3"


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
    until = timezone.localtime(reservation.expires_at).strftime("%H:%M IST")  # the shop's zone
    assert f"holding it for you for 10 minutes, until {until}." in message.body
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
def test_the_cron_endpoint_lists_its_promotions(settings):
    settings.CRON_SECRET = "cron"
    row, held = sold_out(total=2)
    first, second = join(row, email="one@example.com"), join(row, email="two@example.com")
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET="cron")

    assert response.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert response.json() == {
        "message": "Released 2 expired reservation(s).",
        "released": 2,
        "waitlistPromotions": [
            {"waitlistEntryId": str(first.id), "reservationId": str(first.reservation_id)},
            {"waitlistEntryId": str(second.id), "reservationId": str(second.reservation_id)},
        ],
    }
    assert (first.status, second.status) == (Status.PROMOTED, Status.PROMOTED)


@promotion
def test_releasing_through_the_api_names_the_entry_its_units_went_to():
    row, (hold,) = sold_out()
    entry = join(row)

    response = APIClient().post(f"/api/reservations/{hold.id}/release")

    assert response.status_code == 200
    body = response.json()
    assert body["reservation"]["id"] == str(hold.id)
    assert body["reservation"]["status"] == "RELEASED"
    assert status_of(entry) == Status.PROMOTED
    assert body["waitlistPromotion"] == {
        "waitlistEntryId": str(entry.id),
        "reservationId": str(entry.reservation_id),
    }


@promotion
def test_releasing_units_no_entry_fits_answers_no_promotion():
    row, (hold,) = sold_out()
    entry = join(row, quantity=2)

    response = APIClient().post(f"/api/reservations/{hold.id}/release")

    assert response.status_code == 200
    assert response.json()["reservation"]["status"] == "RELEASED"
    assert response.json()["waitlistPromotion"] is None
    assert status_of(entry) == Status.WAITING


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
    big, small = (
        join(row, quantity=3, email="big@example.com"),
        join(row, email="small@example.com"),
    )

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
    assert response.json()["code"] == "INVALID_TRANSITION"
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
