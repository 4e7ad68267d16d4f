"""Every event is written by one recorder; the one-statement hold's SQL writes the same row."""

from datetime import timedelta

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from reservations import events, locks
from reservations.models import Reservation, ReservationEvent
from tests.factories import InventoryFactory

pytestmark = pytest.mark.django_db


def test_the_hold_statement_writes_the_event_the_recorder_would_build():
    row = InventoryFactory(total_stock=3)
    now = timezone.now()

    hold = locks.hold_stock(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=2,
        now=now,
        expires_at=now + timedelta(minutes=10),
        actor="user:7",
        payload={"waitlistEntryId": "abc"},
    )

    assert hold is not None
    written = ReservationEvent.objects.get()
    reservation = Reservation.objects.get(pk=hold.reservation_id)
    built = events.about_reservation(
        reservation, ReservationEvent.Type.RESERVED, actor="user:7", at=now, waitlistEntryId="abc"
    )
    assert model_to_dict(written, exclude=["id"]) == model_to_dict(built, exclude=["id"])
    assert written.created_at == built.created_at


def test_a_failed_hold_writes_no_event():
    row = InventoryFactory(total_stock=1)
    now = timezone.now()

    hold = locks.hold_stock(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        quantity=2,
        now=now,
        expires_at=now + timedelta(minutes=10),
        actor="anonymous",
    )

    assert hold is None
    assert not ReservationEvent.objects.exists()
    assert not Reservation.objects.exists()
