"""The console's reservations page: who may see it, its filters and pages, and release by hand
(reason ADMIN, one RELEASED event each, counters, waitlist, refusals that write nothing)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory.models import Inventory
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from reservations.services import holds, transitions
from tests.factories import (
    InventoryFactory,
    ReservationFactory,
    UserFactory,
    WaitlistEntryFactory,
)

pytestmark = pytest.mark.django_db

PAGE = reverse("console-reservations")
RELEASE = reverse("console-reservations-release")
Status = Reservation.Status
Reason = Reservation.ReleaseReason


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def row() -> Inventory:
    return InventoryFactory(total_stock=10)


def _hold(row: Inventory, quantity: int = 1) -> Reservation:
    return holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=quantity
    )


def _reserved(row: Inventory) -> int:
    row.refresh_from_db()
    return row.reserved_stock


def _shown(response) -> list[str]:
    return [str(r.reservation.pk) for r in response.context["rows"]]


# Who may use it


@pytest.mark.parametrize("url", [PAGE])
def test_anonymous_visitor_is_sent_to_the_console_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console-login"))


def test_shopper_is_refused_the_page(client):
    client.force_login(UserFactory())
    assert client.get(PAGE).status_code == 403


def test_staff_sees_every_hold_newest_first(staff_client, row):
    older = ReservationFactory(created_at=timezone.now() - timedelta(hours=1))
    newer = ReservationFactory(user=UserFactory())
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    assert _shown(response) == [str(newer.pk), str(older.pk)]
    assert newer.user.email in response.content.decode()


def test_anonymous_release_is_sent_to_login_and_writes_nothing(client, row):
    hold = _hold(row)
    response = client.post(RELEASE, {"confirm": "yes", "only": str(hold.pk)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console-login"))
    hold.refresh_from_db()
    assert hold.status == Status.PENDING
    assert _reserved(row) == 1


def test_shopper_cannot_release_even_their_own_hold_here(client, row):
    shopper = UserFactory()
    hold = holds.reserve(
        product_id=row.product_id, warehouse_id=row.warehouse_id, quantity=1, user=shopper
    )
    client.force_login(shopper)
    assert client.post(RELEASE, {"confirm": "yes", "only": str(hold.pk)}).status_code == 403
    hold.refresh_from_db()
    assert hold.status == Status.PENDING


def test_release_refuses_get(staff_client):
    assert staff_client.get(RELEASE).status_code == 405


def test_release_needs_the_csrf_token(staff, row):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    hold = _hold(row)
    assert client.post(RELEASE, {"confirm": "yes", "only": str(hold.pk)}).status_code == 403
    hold.refresh_from_db()
    assert hold.status == Status.PENDING


# Filters and pages


def test_filters_by_status_product_warehouse_and_days(staff_client):
    now = timezone.now()
    pending = ReservationFactory()
    confirmed = ReservationFactory(status=Status.CONFIRMED, confirmed_at=now)
    same_row = ReservationFactory(product=pending.product, warehouse=confirmed.warehouse)
    old = ReservationFactory(product=pending.product, created_at=now - timedelta(days=3))

    assert _shown(staff_client.get(PAGE, {"status": "CONFIRMED"})) == [str(confirmed.pk)]
    by_product = _shown(staff_client.get(PAGE, {"product": pending.product_id}))
    assert by_product == [str(same_row.pk), str(pending.pk), str(old.pk)]
    by_warehouse = _shown(staff_client.get(PAGE, {"warehouse": confirmed.warehouse_id}))
    assert by_warehouse == [str(same_row.pk), str(confirmed.pk)]
    today = timezone.localdate()
    recent = staff_client.get(PAGE, {"product": pending.product_id, "since": today.isoformat()})
    assert _shown(recent) == [str(same_row.pk), str(pending.pk)]
    day = timezone.localtime(old.created_at).date().isoformat()
    assert _shown(staff_client.get(PAGE, {"since": day, "until": day})) == [str(old.pk)]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "LOST"},
        {"product": "abc"},
        {"warehouse": "999999"},
        {"since": "yesterday"},
        {"since": "2025-02-02", "until": "2025-02-01"},
        {"page": "-3"},
        {"page": "99999999999999999999999"},
    ],
)
def test_bad_filters_are_shown_and_ignored_never_a_500(staff_client, query):
    hold = ReservationFactory()
    response = staff_client.get(PAGE, query)
    assert response.status_code == 200
    assert _shown(response) == [str(hold.pk)]


def test_a_bad_filter_is_named_on_the_page(staff_client):
    response = staff_client.get(PAGE, {"since": "2025-02-02", "until": "2025-02-01"})
    assert "The end date is before the start date." in response.content.decode()


def test_pages_hold_25_and_keep_the_filters(staff_client):
    start = timezone.now()
    made = [
        ReservationFactory(
            status=Status.CONFIRMED, confirmed_at=start, created_at=start - timedelta(seconds=i)
        )
        for i in range(30)
    ]
    ReservationFactory()  # pending: filtered out
    first = staff_client.get(PAGE, {"status": "CONFIRMED"})
    assert _shown(first) == [str(r.pk) for r in made[:25]]
    assert "?status=CONFIRMED&page=2" in first.content.decode()
    second = staff_client.get(PAGE, {"status": "CONFIRMED", "page": 2})
    assert _shown(second) == [str(r.pk) for r in made[25:]]
    past_the_end = staff_client.get(PAGE, {"status": "CONFIRMED", "page": 9})
    assert _shown(past_the_end) == _shown(second)


def test_htmx_gets_only_the_list(staff_client):
    ReservationFactory()
    response = staff_client.get(PAGE, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="hold-list"')
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_page_reads_in_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries):
    for _ in range(20):
        ReservationFactory(user=UserFactory())
    with django_assert_max_num_queries(10):
        staff_client.get(PAGE)


def test_only_pending_holds_offer_release(staff_client):
    pending = ReservationFactory()
    confirmed = ReservationFactory(status=Status.CONFIRMED, confirmed_at=timezone.now())
    body = staff_client.get(PAGE).content.decode()
    assert f'name="only" value="{pending.pk}"' in body
    assert f'name="selected" value="{pending.pk}"' in body
    assert f'value="{confirmed.pk}"' not in body


# Release by hand


def test_release_asks_first_and_writes_nothing_until_confirmed(staff_client, row):
    hold = _hold(row, quantity=3)
    events_before = ReservationEvent.objects.count()
    response = staff_client.post(RELEASE, {"only": str(hold.pk), "back": "status=PENDING"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Release 1 hold?" in body
    assert "puts 3 units back in stock" in body
    assert f'<input type="hidden" name="selected" value="{hold.pk}">' in body
    assert '<input type="hidden" name="confirm" value="yes">' in body
    assert 'href="/admin/reservations/?status=PENDING"' in body  # "Keep it" goes back
    hold.refresh_from_db()
    assert hold.status == Status.PENDING
    assert ReservationEvent.objects.count() == events_before
    assert _reserved(row) == 3


def test_the_confirm_step_names_holds_that_will_not_be_released(staff_client, row):
    live = _hold(row, quantity=1)
    confirmed = transitions.confirm(reservation_id=_hold(row, quantity=2).pk)
    body = staff_client.post(
        RELEASE, {"selected": [str(live.pk), str(confirmed.pk)]}
    ).content.decode()
    assert "Release 1 hold?" in body and "puts 1 unit back in stock" in body
    assert f'data-reservation="{confirmed.pk}" data-status="CONFIRMED"' in body
    assert "not released" in body


def test_staff_releases_one_hold_with_reason_admin(staff_client, staff, row):
    hold = _hold(row, quantity=3)
    other = _hold(row, quantity=2)
    response = staff_client.post(
        RELEASE, {"confirm": "yes", "only": str(hold.pk), "back": "status=PENDING"}
    )
    assert response.status_code == 303
    assert response["Location"] == f"{PAGE}?status=PENDING"
    hold.refresh_from_db()
    assert (hold.status, hold.release_reason) == (Status.RELEASED, Reason.ADMIN)
    assert hold.released_at is not None
    other.refresh_from_db()
    assert other.status == Status.PENDING
    assert _reserved(row) == 2
    released = ReservationEvent.objects.filter(reservation=hold, type="RELEASED")
    assert [(e.actor, e.quantity, e.payload["reason"]) for e in released] == [
        (f"user:{staff.pk}", 3, "ADMIN")
    ]
    assert released[0].payload["requestId"]  # the staff request that released it
    page = staff_client.get(response["Location"])
    assert "Released 1 hold (3 units back in stock)" in page.content.decode()


def test_staff_releases_many_holds_each_with_one_event(staff_client, staff, row):
    ticked = [_hold(row, quantity=q) for q in (1, 2, 3)]
    kept = _hold(row, quantity=4)
    response = staff_client.post(
        RELEASE, {"confirm": "yes", "selected": [str(h.pk) for h in ticked]}
    )
    assert response.status_code == 303
    for hold in ticked:
        hold.refresh_from_db()
        assert (hold.status, hold.release_reason) == (Status.RELEASED, Reason.ADMIN)
        assert ReservationEvent.objects.filter(reservation=hold, type="RELEASED").count() == 1
    kept.refresh_from_db()
    assert kept.status == Status.PENDING
    assert _reserved(row) == 4
    assert set(
        ReservationEvent.objects.filter(type="RELEASED").values_list("actor", flat=True)
    ) == {f"user:{staff.pk}"}
    assert "Released 3 holds (6 units back in stock)" in staff_client.get(PAGE).content.decode()


def test_confirmed_and_released_holds_are_refused_and_untouched(staff_client, row):
    live = _hold(row, quantity=1)
    confirmed = transitions.confirm(reservation_id=_hold(row, quantity=2).pk)
    cancelled = transitions.release(reservation_id=_hold(row, quantity=3).pk)
    before = list(ReservationEvent.objects.values_list("id", flat=True))
    stock = Inventory.objects.values("total_stock", "reserved_stock").get(pk=row.pk)

    response = staff_client.post(
        RELEASE,
        {"confirm": "yes", "selected": [str(confirmed.pk), str(cancelled.pk), str(live.pk)]},
    )
    assert response.status_code == 303
    confirmed.refresh_from_db()
    cancelled.refresh_from_db()
    assert confirmed.status == Status.CONFIRMED
    assert (cancelled.status, cancelled.release_reason) == (Status.RELEASED, Reason.CANCELLED)
    new_events = ReservationEvent.objects.exclude(id__in=before)
    assert [(e.type, e.reservation_id) for e in new_events] == [("RELEASED", live.pk)]
    after = Inventory.objects.values("total_stock", "reserved_stock").get(pk=row.pk)
    assert after == {**stock, "reserved_stock": stock["reserved_stock"] - 1}
    body = staff_client.get(PAGE).content.decode()
    assert f"Not released {str(confirmed.pk)[:8]}: it is confirmed." in body
    assert f"Not released {str(cancelled.pk)[:8]}: it was already released." in body


def test_refusing_every_hold_writes_nothing(staff_client, row):
    confirmed = transitions.confirm(reservation_id=_hold(row).pk)
    events_before = ReservationEvent.objects.count()
    response = staff_client.post(RELEASE, {"confirm": "yes", "only": str(confirmed.pk)})
    assert response.status_code == 303
    assert ReservationEvent.objects.count() == events_before
    confirmed.refresh_from_db()
    assert confirmed.status == Status.CONFIRMED


def test_an_unknown_hold_is_named_as_such(staff_client):
    missing = "00000000-0000-4000-8000-000000000000"
    staff_client.post(RELEASE, {"confirm": "yes", "only": missing})
    assert "there is no such reservation" in staff_client.get(PAGE).content.decode()


@pytest.mark.parametrize(
    "data",
    [{}, {"only": "not-a-uuid"}, {"selected": ["12", "abc"]}, {"selected": []}],
)
def test_bad_release_input_is_a_400_and_writes_nothing(staff_client, row, data):
    hold = _hold(row)
    events_before = ReservationEvent.objects.count()
    response = staff_client.post(RELEASE, data)
    assert response.status_code == 400
    hold.refresh_from_db()
    assert hold.status == Status.PENDING
    assert ReservationEvent.objects.count() == events_before
    assert _reserved(row) == 1


def test_too_many_holds_at_once_is_refused(staff_client):
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(201)]
    response = staff_client.post(RELEASE, {"confirm": "yes", "selected": ids})
    assert response.status_code == 400
    assert "Release at most 200 holds at once." in response.content.decode()


def test_back_cannot_send_the_browser_elsewhere(staff_client, row):
    hold = _hold(row)
    response = staff_client.post(
        RELEASE, {"confirm": "yes", "only": str(hold.pk), "back": "https://evil.example/?x=1#y"}
    )
    assert response["Location"].startswith(f"{PAGE}?")


def test_an_overdue_hold_is_released_as_expired(staff_client, row):
    hold = _hold(row, quantity=2)
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    staff_client.post(RELEASE, {"confirm": "yes", "only": str(hold.pk)})
    hold.refresh_from_db()
    assert (hold.status, hold.release_reason) == (Status.RELEASED, Reason.EXPIRED)
    assert ReservationEvent.objects.filter(reservation=hold, type="EXPIRED").count() == 1
    assert _reserved(row) == 0
    assert "released as expired" in staff_client.get(PAGE).content.decode()


def test_released_units_go_to_the_waitlist(staff_client, row, django_capture_on_commit_callbacks):
    hold = _hold(row, quantity=10)
    entry = WaitlistEntryFactory(product=row.product, warehouse=row.warehouse, quantity=4)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(RELEASE, {"confirm": "yes", "only": str(hold.pk)})
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.PROMOTED
    assert entry.reservation.status == Status.PENDING
    assert _reserved(row) == 4


def test_release_by_staff_reports_the_promotions_it_made(
    staff, row, django_capture_on_commit_callbacks
):
    hold = _hold(row, quantity=10)
    entry = WaitlistEntryFactory(product=row.product, warehouse=row.warehouse, quantity=4)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = transitions.release_by_staff(reservation_ids=[hold.pk], user=staff)
    assert [p.waitlist_entry_id for p in outcome.promotions] == [entry.pk]


def test_release_by_staff_goes_in_pk_order_and_reports_each(staff, row):
    made = [_hold(row) for _ in range(3)]
    confirmed = transitions.confirm(reservation_id=made[1].pk)
    outcome = transitions.release_by_staff(
        reservation_ids=[h.pk for h in reversed(made)] + [made[0].pk], user=staff
    )
    expected = sorted(h.pk for h in made if h.pk != confirmed.pk)
    assert [r.pk for r in outcome.released] == expected
    assert outcome.refused == [(confirmed.pk, "it is confirmed")]
    assert outcome.expired == []
