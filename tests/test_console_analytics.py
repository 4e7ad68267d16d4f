"""The console's analytics: conversion, expiry and cancel rates and time to confirm, by
warehouse and category, over a chosen period, all aggregated by the database."""

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from console.analytics.selectors import Period, analytics
from reservations.models import Reservation
from tests.factories import ProductFactory, ReservationFactory, UserFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

URL = "/admin/analytics/"
Status = Reservation.Status
Reason = Reservation.ReleaseReason

# Holds of the fixture are made on 10 and 11 March 2026, in the shop's time zone (TIME_ZONE);
# the period 9-11 March covers them.
SHOP = timezone.get_default_timezone()
DAY = datetime(2026, 3, 10, 10, 0, tzinfo=SHOP)
FIXTURE_PERIOD = {"from": "2026-03-09", "to": "2026-03-11"}


def _hold(*, product, warehouse, created_at, outcome, after=timedelta(seconds=120)):
    """Make one hold created at `created_at` whose outcome came `after` later."""
    fields = {"status": Status.PENDING}
    if outcome == "CONFIRMED":
        fields = {"status": Status.CONFIRMED, "confirmed_at": created_at + after}
    elif outcome != "PENDING":
        fields = {
            "status": Status.RELEASED,
            "release_reason": outcome,
            "released_at": created_at + after,
        }
    return ReservationFactory(
        product=product,
        warehouse=warehouse,
        created_at=created_at,
        updated_at=created_at + after,
        **fields,
    )


@pytest.fixture
def fixture_holds() -> dict:
    """Mumbai: 10 Fitness/Skincare holds on 10 March (6 confirmed after 2 minutes, 3 expired,
    1 cancelled). Delhi: 5 Fitness holds on 11 March (confirmed after 30 s, 60 s and 10 min,
    1 released by staff, 1 pending at 23:59:59). Two more fall just outside 9-11 March."""
    mumbai = WarehouseFactory(city="Mumbai", name="Mumbai Warehouse")
    delhi = WarehouseFactory(city="Delhi", name="Delhi Warehouse")
    fitness = ProductFactory(category="Fitness")
    skincare = ProductFactory(category="Skincare")
    for n in range(6):
        _hold(
            product=fitness,
            warehouse=mumbai,
            created_at=DAY + timedelta(minutes=n),
            outcome="CONFIRMED",
        )
    for n in range(3):
        _hold(
            product=skincare,
            warehouse=mumbai,
            created_at=DAY + timedelta(minutes=10 + n),
            outcome=Reason.EXPIRED,
            after=timedelta(minutes=10),
        )
    _hold(product=skincare, warehouse=mumbai, created_at=DAY, outcome=Reason.CANCELLED)
    next_day = DAY + timedelta(days=1)
    for seconds in (30, 60, 600):
        _hold(
            product=fitness,
            warehouse=delhi,
            created_at=next_day,
            outcome="CONFIRMED",
            after=timedelta(seconds=seconds),
        )
    _hold(product=fitness, warehouse=delhi, created_at=next_day, outcome=Reason.ADMIN)
    # The last moment of 11 March is in; the first of 12 March and 8 March are not.
    _hold(
        product=fitness,
        warehouse=delhi,
        created_at=datetime(2026, 3, 11, 23, 59, 59, tzinfo=SHOP),
        outcome="PENDING",
    )
    _hold(
        product=fitness,
        warehouse=delhi,
        created_at=datetime(2026, 3, 12, tzinfo=SHOP),
        outcome="CONFIRMED",
    )
    _hold(
        product=skincare,
        warehouse=mumbai,
        created_at=datetime(2026, 3, 8, 23, 59, tzinfo=SHOP),
        outcome=Reason.EXPIRED,
    )
    return {"mumbai": mumbai, "delhi": delhi}


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def _period() -> Period:
    return Period(start=datetime(2026, 3, 9, tzinfo=SHOP), end=datetime(2026, 3, 12, tzinfo=SHOP))


def _kpi(html: str, name: str) -> str:
    return re.search(rf'data-testid="kpi-{name}">([^<]*)<', html).group(1)


def _chart_data(html: str) -> dict:
    found = re.search(
        r'<script id="analytics-data" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(found.group(1))


# --- who may see it ------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_console_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={URL}"


def test_shoppers_are_refused(client):
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 403


def test_staff_see_the_page_with_its_charts(staff):
    response = staff.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for canvas in ("chart-conversion", "chart-outcomes", "chart-time-to-confirm"):
        assert f'<canvas id="{canvas}"' in html
    assert "vendor/chart-4.6.1.umd.min.js" in html
    assert "js/console-analytics.js" in html
    # The data travels as JSON, never as inline script.
    assert set(_chart_data(html)) == {"byWarehouse", "byDay", "timeToConfirm"}
    assert "<script>" not in html


def test_the_page_only_answers_get(staff):
    assert staff.post(URL, FIXTURE_PERIOD).status_code == 405


# --- the figures ---------------------------------------------------------------------------


def test_totals_count_each_outcome_of_the_period_holds(fixture_holds):
    totals = analytics(period=_period()).totals
    assert (totals.holds, totals.confirmed, totals.expired, totals.cancelled) == (15, 9, 3, 1)
    assert (totals.other_released, totals.pending) == (1, 1)
    assert totals.conversion == pytest.approx(0.6)
    assert totals.expiry_rate == pytest.approx(0.2)
    assert totals.cancel_rate == pytest.approx(1 / 15)
    # 30, 60, 120 x 6, 600 seconds
    assert totals.median_to_confirm == timedelta(seconds=120)
    assert totals.average_to_confirm.total_seconds() == pytest.approx(1410 / 9)


def test_mumbai_converts_sixty_percent_in_a_median_of_two_minutes(fixture_holds):
    by_warehouse = {row.label: row for row in analytics(period=_period()).by_warehouse}
    mumbai = by_warehouse["Mumbai Warehouse"]
    assert (mumbai.holds, mumbai.confirmed, mumbai.expired, mumbai.cancelled) == (10, 6, 3, 1)
    assert mumbai.conversion_percent == 60.0
    assert mumbai.expiry_percent == 30.0
    assert mumbai.cancel_percent == 10.0
    assert mumbai.median_to_confirm == timedelta(seconds=120)
    assert mumbai.average_to_confirm == timedelta(seconds=120)


def test_delhi_median_and_average_differ_and_staff_releases_count_apart(fixture_holds):
    by_warehouse = analytics(period=_period()).by_warehouse
    assert [row.label for row in by_warehouse] == ["Mumbai Warehouse", "Delhi Warehouse"]
    delhi = by_warehouse[1]
    assert (delhi.holds, delhi.confirmed, delhi.other_released, delhi.pending) == (5, 3, 1, 1)
    assert (delhi.expired, delhi.cancelled) == (0, 0)
    assert delhi.conversion_percent == 60.0
    assert delhi.expiry_percent == 0.0
    assert delhi.median_to_confirm == timedelta(seconds=60)
    assert delhi.average_to_confirm == timedelta(seconds=230)


def test_outcomes_by_category(fixture_holds):
    by_category = {row.label: row for row in analytics(period=_period()).by_category}
    assert set(by_category) == {"Fitness", "Skincare"}
    fitness, skincare = by_category["Fitness"], by_category["Skincare"]
    assert (fitness.holds, fitness.confirmed, fitness.pending) == (11, 9, 1)
    assert fitness.conversion_percent == 81.8
    assert fitness.median_to_confirm == timedelta(seconds=120)
    assert (skincare.holds, skincare.confirmed, skincare.expired, skincare.cancelled) == (
        4,
        0,
        3,
        1,
    )
    assert (skincare.conversion_percent, skincare.expiry_percent) == (0.0, 75.0)
    assert skincare.cancel_percent == 25.0
    assert skincare.median_to_confirm is None


def test_outcomes_per_day_include_empty_days(fixture_holds):
    days = analytics(period=_period()).by_day
    assert [day.day.isoformat() for day in days] == ["2026-03-09", "2026-03-10", "2026-03-11"]
    assert [(d.confirmed, d.expired, d.cancelled, d.other_released, d.pending) for d in days] == [
        (0, 0, 0, 0, 0),
        (6, 3, 1, 0, 0),
        (3, 0, 0, 1, 1),
    ]


def test_time_to_confirm_histogram(fixture_holds):
    histogram = analytics(period=_period()).time_to_confirm
    assert histogram == [
        ("under 30 s", 0),
        ("30 s – 1 min", 1),
        ("1–2 min", 1),
        ("2–5 min", 6),
        ("5–10 min", 0),
        ("over 10 min", 1),
    ]


def test_an_empty_period_has_no_rates():
    figures = analytics(period=_period())
    assert figures.totals.holds == 0
    assert figures.totals.conversion is None
    assert figures.totals.median_to_confirm is None
    assert figures.by_warehouse == [] and figures.by_category == []


def test_every_figure_takes_five_queries_whatever_the_number_of_holds(
    fixture_holds, django_assert_num_queries
):
    with django_assert_num_queries(5):
        analytics(period=_period())
    mumbai = fixture_holds["mumbai"]
    for n in range(20):
        _hold(
            product=ProductFactory(category=f"Category {n}"),
            warehouse=mumbai,
            created_at=DAY,
            outcome="CONFIRMED",
        )
    with django_assert_num_queries(5):
        analytics(period=_period())


def test_the_page_takes_a_bounded_number_of_queries(
    staff, fixture_holds, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        assert staff.get(URL, FIXTURE_PERIOD).status_code == 200


# --- the page ------------------------------------------------------------------------------


def test_the_page_shows_the_fixture_figures(staff, fixture_holds):
    html = staff.get(URL, FIXTURE_PERIOD).content.decode()
    assert re.search(r'data-testid="period-label">09 Mar 2026 – 11 Mar 2026<', html)
    assert _kpi(html, "holds") == "15"
    assert _kpi(html, "conversion") == "60.0%"
    assert _kpi(html, "expiry") == "20.0%"
    assert _kpi(html, "cancel") == "6.7%"
    assert _kpi(html, "median") == "2 min"
    table = html.split('data-testid="by-warehouse"')[1].split("</table>")[0]
    mumbai = table.split('title="Mumbai Warehouse">Mumbai</th>')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', mumbai) == [
        "10", "6", "3", "1", "0", "0", "60.0%", "30.0%", "10.0%", "2 min", "2 min",
    ]  # fmt: skip
    assert "Skincare" in html.split('data-testid="by-category"')[1]


def test_chart_data_is_embedded_as_json(staff, fixture_holds):
    data = _chart_data(staff.get(URL, FIXTURE_PERIOD).content.decode())
    assert data["byWarehouse"][0] == {
        "label": "Mumbai Warehouse",
        "city": "Mumbai",
        "holds": 10,
        "conversion": 60.0,
        "expiryRate": 30.0,
        "cancelRate": 10.0,
        "medianSeconds": 120.0,
        "averageSeconds": 120.0,
    }
    assert [day["date"] for day in data["byDay"]] == ["2026-03-09", "2026-03-10", "2026-03-11"]
    assert data["byDay"][1]["expired"] == 3
    assert [bucket["count"] for bucket in data["timeToConfirm"]] == [0, 1, 1, 6, 0, 1]


def test_a_narrower_period_counts_only_its_holds(staff, fixture_holds):
    html = staff.get(URL, {"from": "2026-03-11", "to": "2026-03-11"}).content.decode()
    assert _kpi(html, "holds") == "5"
    table = html.split('data-testid="by-warehouse"')[1].split("</table>")[0]
    assert "Delhi" in table and "Mumbai" not in table


def test_presets_cover_the_last_day_week_and_month(staff):
    warehouse, product = WarehouseFactory(), ProductFactory()
    now = timezone.now()
    for age in (timedelta(hours=2), timedelta(days=3), timedelta(days=20), timedelta(days=40)):
        _hold(product=product, warehouse=warehouse, created_at=now - age, outcome="CONFIRMED")
    counts = {}
    for preset in ("24h", "7d", "30d"):
        counts[preset] = _kpi(staff.get(URL, {"preset": preset}).content.decode(), "holds")
    assert counts == {"24h": "1", "7d": "2", "30d": "3"}
    html = staff.get(URL).content.decode()
    assert _kpi(html, "holds") == "2"  # the default: the last 7 days
    assert re.search(r'data-testid="period-label">Last 7 days<', html)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-11", "to": "2026-03-09"}, "The end date is before the start date."),
        ({"from": "yesterday", "to": "2026-03-09"}, "Enter a date as YYYY-MM-DD"),
        ({"from": "2026-02-30", "to": "2026-03-09"}, "Enter a date as YYYY-MM-DD"),
        ({"from": "2024-01-01", "to": "2026-03-09"}, "Choose at most 366 days"),
        ({"from": "2026-03-01", "to": "9999-12-31"}, "Choose an end date before 9999-12-31"),
        ({"from": "2026-03-01"}, "Enter both dates, or choose a preset."),
        ({"preset": "1y"}, "Choose last 24 hours, 7 days or 30 days."),
    ],
)
def test_bad_periods_are_named_and_the_default_period_is_shown(staff, params, message):
    warehouse, product = WarehouseFactory(), ProductFactory()
    _hold(
        product=product,
        warehouse=warehouse,
        created_at=timezone.now() - timedelta(days=1),
        outcome="CONFIRMED",
    )
    response = staff.get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Showing the default period instead: last 7 days." in html
    assert _kpi(html, "holds") == "1"
    assert _kpi(html, "conversion") == "100.0%"


def test_a_year_to_the_day_is_allowed(staff):
    response = staff.get(URL, {"from": "2025-03-10", "to": "2026-03-10"})
    assert response.status_code == 200
    assert "error" not in "".join(m.tags for m in response.context["messages"])
