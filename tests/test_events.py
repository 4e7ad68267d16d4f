"""Every event is written by one recorder; the one-statement hold's SQL writes the same row."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from reservations import events, locks
from reservations.models import Reservation, ReservationEvent
from tests.factories import InventoryFactory

pytestmark = pytest.mark.django_db


def hold(total_stock: int, quantity: int, **extra) -> tuple[locks.Hold | None, object]:
    """Run the one-statement hold on a new row; return what it held and the time it used."""
    row = InventoryFactory(total_stock=total_stock)
    now = timezone.now()
    held = locks.hold_stock(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=quantity,
        now=now,
        expires_at=now + timedelta(minutes=10),
        **extra,
    )
    return held, now


def test_the_hold_statement_writes_the_event_the_recorder_would_build():
    held, now = hold(3, 2, actor="user:7", payload={"waitlistEntryId": "abc"})

    assert held is not None
    written = ReservationEvent.objects.get()
    reservation = Reservation.objects.get(pk=held.reservation_id)
    built = events.about(
        reservation, ReservationEvent.Type.RESERVED, actor="user:7", at=now, waitlistEntryId="abc"
    )
    assert model_to_dict(written, exclude=["id"]) == model_to_dict(built, exclude=["id"])
    assert written.created_at == built.created_at == now


def test_a_failed_hold_writes_no_event():
    held, _ = hold(1, 2, actor="anonymous")

    assert held is None
    assert not ReservationEvent.objects.exists()
    assert not Reservation.objects.exists()
