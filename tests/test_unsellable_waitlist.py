"""A deactivated product or warehouse keeps its waitlist waiting, and never breaks a release.

Promotion runs after the commit that freed the units; a row shoppers cannot hold any more
must promote nobody and raise nothing, so the release, sweep, cron call and `manage.py
expire` that freed them still succeed.
"""

import signal
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.services import holds, sweeps, transitions, waitlist
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, manage, spawn, wait_for

Status = Reservation.Status
promotion = pytest.mark.django_db(transaction=True)  # promotion runs after a real commit
deactivated = pytest.mark.parametrize("closed", ["product", "warehouse"])


def sold_out_with_a_waiting_shopper(closed: str) -> tuple[Inventory, Reservation, WaitlistEntry]:
    """A row whose one unit is held, a shopper waiting for it, then its `closed` deactivated."""
    row = InventoryFactory(total_stock=1)
    held = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)
    entry = waitlist.join_waitlist(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=1,
        email="waiting@example.com",
    ).entry
    owner = getattr(row, closed)
    owner.active = False
    owner.save(update_fields=["active"])
    return row, held, entry


def assert_released_and_nobody_promoted(row: Inventory, held: Reservation, entry: WaitlistEntry):
    held.refresh_from_db()
    entry.refresh_from_db()
    row.refresh_from_db()
    assert held.status == Status.RELEASED
    assert row.reserved_stock == 0
    assert (entry.status, entry.reservation_id) == (WaitlistEntry.Status.WAITING, None)
    assert Reservation.objects.count() == 1
    assert not ReservationEvent.objects.filter(type="WAITLIST_PROMOTED").exists()


def make_all_due() -> None:
    Reservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


@promotion
@deactivated
def test_promotion_on_an_unsellable_row_promotes_nobody(closed):
    row, held, entry = sold_out_with_a_waiting_shopper(closed)
    Inventory.objects.filter(pk=row.pk).update(reserved_stock=0)  # units free, row closed

    assert waitlist.promote_waiting(product_id=row.product_id, warehouse_id=row.warehouse_id) == []

    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


@promotion
@deactivated
def test_releasing_a_hold_on_a_deactivated_row_answers_200_and_promotes_nobody(closed):
    row, held, entry = sold_out_with_a_waiting_shopper(closed)

    response = APIClient().post(f"/api/reservations/{held.id}/release")

    assert response.status_code == 200, response.content
    assert response.json()["reservation"]["status"] == "RELEASED"
    assert response.json()["waitlistPromotion"] is None
    assert_released_and_nobody_promoted(row, held, entry)


@promotion
@deactivated
def test_releasing_through_the_service_on_a_deactivated_row_raises_nothing(closed):
    row, held, entry = sold_out_with_a_waiting_shopper(closed)
    promotions: list[waitlist.Promotion] = []

    transitions.release(reservation_id=held.id, promotions=promotions)

    assert promotions == []
    assert_released_and_nobody_promoted(row, held, entry)


@promotion
@deactivated
def test_the_sweep_releases_holds_of_a_deactivated_row_and_promotes_nobody(closed):
    row, held, entry = sold_out_with_a_waiting_shopper(closed)
    make_all_due()

    assert sweeps.expire_due_reservations() == 1

    assert_released_and_nobody_promoted(row, held, entry)


@promotion
@deactivated
def test_the_cron_endpoint_releases_holds_of_a_deactivated_row(settings, closed):
    settings.CRON_SECRET = "cron"
    row, held, entry = sold_out_with_a_waiting_shopper(closed)
    make_all_due()

    response = APIClient().get("/api/cron/expire", HTTP_X_CRON_SECRET="cron")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "message": "Released 1 expired reservation(s).",
        "released": 1,
        "waitlistPromotions": [],
    }
    assert_released_and_nobody_promoted(row, held, entry)


@promotion
@deactivated
def test_manage_py_expire_releases_holds_of_a_deactivated_row(closed):
    row, held, entry = sold_out_with_a_waiting_shopper(closed)
    make_all_due()
    out = StringIO()

    call_command("expire", stdout=out)

    assert "Released 1 expired reservation(s)." in out.getvalue()
    assert_released_and_nobody_promoted(row, held, entry)


@promotion
@pytest.mark.slow
def test_manage_py_expire_in_its_own_process_exits_0_for_a_deactivated_row(tmp_path):
    row, held, entry = sold_out_with_a_waiting_shopper("product")
    make_all_due()
    log = tmp_path / "expire.log"

    sweeper = spawn(manage("expire"), env_for_test_database(), log)

    assert sweeper.wait(timeout=60) == 0, log.read_text()
    assert "Released 1 expired reservation(s)." in log.read_text()
    assert_released_and_nobody_promoted(row, held, entry)


@promotion
@pytest.mark.slow
def test_the_expire_loop_keeps_sweeping_past_a_deactivated_row(tmp_path):
    row, first, entry = sold_out_with_a_waiting_shopper("warehouse")
    live = InventoryFactory(total_stock=5)
    log = tmp_path / "expire.log"
    sweeper = spawn(manage("expire", "--every", "1"), env_for_test_database(), log)
    try:
        make_all_due()
        wait_for(
            lambda: Reservation.objects.filter(pk=first.id, status=Status.RELEASED).exists(),
            timeout=30,
            what="the sweep of the deactivated row's hold",
            log=log,
        )
        later = holds.reserve(
            product_id=live.product_id, warehouse_id=live.warehouse_id, quantity=2
        )
        make_all_due()
        wait_for(
            lambda: Reservation.objects.filter(pk=later.id, status=Status.RELEASED).exists(),
            timeout=30,
            what="a later sweep",
            log=log,
        )
        assert sweeper.poll() is None, log.read_text()
    finally:
        sweeper.send_signal(signal.SIGTERM)
        assert sweeper.wait(timeout=30) == 0, log.read_text()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING


@promotion
def test_a_database_fault_in_promotion_after_commit_never_fails_the_release(monkeypatch, caplog):
    # The connection dies between the release's commit and the promotion's query (seen under
    # `make chaos`): the release has happened and must answer as such, not 503 "retry".
    row = InventoryFactory(total_stock=1)
    held = holds.reserve(product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1)

    def connection_lost(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(waitlist, "_offer_where_waiting", connection_lost)
    released = transitions.release(reservation_id=held.id)
    assert released.status == Status.RELEASED
    assert Reservation.objects.get(pk=held.id).status == Status.RELEASED
    assert "offer_where_waiting" in caplog.text  # logged, with the hook named
