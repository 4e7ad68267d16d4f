"""The console's live dashboard at /admin/ and the staff API's GET /api/admin/stats: who may
see them, and their figures against known stock, holds and events."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from console.dashboard import display, selectors
from reservations.models import Reservation, ReservationEvent, WaitlistEntry
from tests.factories import (
    InventoryFactory,
    ProductFactory,
    ReservationFactory,
    UserFactory,
    WaitlistEntryFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db

Type = ReservationEvent.Type
Status = Reservation.Status


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture
def shopper():
    return UserFactory()


def _event(type_, at, row, quantity=1):
    return ReservationEvent.objects.create(
        type=type_,
        product=row.product,
        warehouse=row.warehouse,
        quantity=quantity,
        actor="test",
        created_at=at,
    )


def _hold(status, at, row, quantity=1):
    fields = {}
    if status == Status.CONFIRMED:
        fields["confirmed_at"] = at
    if status == Status.RELEASED:
        fields.update(release_reason=Reservation.ReleaseReason.EXPIRED, released_at=at)
    return ReservationFactory(
        status=status,
        created_at=at,
        product=row.product,
        warehouse=row.warehouse,
        quantity=quantity,
        **fields,
    )


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def known_day(now, settings):
    """Stock rows, events and holds whose dashboard figures are worked out by hand."""
    settings.LOW_STOCK_THRESHOLD = 3
    fine = InventoryFactory(total_stock=10, reserved_stock=4)  # 6 available: fine
    low = InventoryFactory(total_stock=5, reserved_stock=3)  # 2 <= 3: low
    custom = InventoryFactory(total_stock=10, reserved_stock=0, low_stock_threshold=10)  # low
    empty = InventoryFactory(total_stock=0, reserved_stock=0, low_stock_threshold=0)  # low
    hidden = InventoryFactory(
        total_stock=1, reserved_stock=1, product=ProductFactory(active=False)
    )  # held, but not sellable: no alert
    minutes = [2, 2, 2, 9, 11]  # 4 in the last 10 minutes, 5 in the hour
    for m in minutes:
        _event(Type.RESERVED, now - timedelta(minutes=m), fine)
    for m in [5, 5, 59, 61]:  # 3 in the hour
        _event(Type.CONFIRMED, now - timedelta(minutes=m), fine)
    for m in [20, 120]:  # 1 in the hour
        _event(Type.EXPIRED, now - timedelta(minutes=m), low)
    _event(Type.RELEASED, now - timedelta(minutes=3), low)  # not a figure of its own
    _event(Type.STOCK_ADJUSTED, now - timedelta(minutes=3), low)
    for _ in range(3):
        _hold(Status.CONFIRMED, now - timedelta(hours=2), fine)
    _hold(Status.RELEASED, now - timedelta(hours=3), fine)
    _hold(Status.PENDING, now - timedelta(minutes=1), fine)
    for _ in range(5):
        _hold(Status.RELEASED, now - timedelta(days=2), low)
    return {"fine": fine, "low": low, "custom": custom, "empty": empty, "hidden": hidden}


# --- who may see it ------------------------------------------------------------------------


def test_dashboard_sends_anonymous_visitors_to_the_console_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def test_dashboard_answers_shoppers_403(client, shopper):
    client.force_login(shopper)
    assert client.get("/admin/").status_code == 403


def test_dashboard_shows_staff_the_figures_and_the_chart(client, staff):
    client.force_login(staff)
    response = client.get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="dashboard-live"' in html
    assert 'hx-trigger="every 5s"' in html
    assert 'id="dashboard-chart-canvas"' in html
    assert 'id="dashboard-chart-data"' in html
    assert "vendor/chart-4.6.1.umd.min.js" in html
    assert 'aria-current="page">' in html  # the sidebar marks the dashboard


def test_dashboard_is_get_only(client, staff):
    client.force_login(staff)
    assert client.post("/admin/").status_code == 405


def test_htmx_poll_gets_only_the_live_section(client, staff):
    client.force_login(staff)
    response = client.get("/admin/?period=1h", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="dashboard-live"')
    assert "<html" not in html
    assert 'hx-get="/admin/?period=1h"' in html


def test_stats_answers_anonymous_401_and_shoppers_403(client, shopper):
    response = client.get("/api/admin/stats")
    assert response.status_code == 401
    assert response.json()["code"] == "NOT_AUTHENTICATED"
    client.force_login(shopper)
    response = client.get("/api/admin/stats")
    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"


def test_stats_is_get_only(client, staff):
    client.force_login(staff)
    response = client.post("/api/admin/stats", {}, content_type="application/json")
    assert response.status_code == 405


# --- the dashboard's figures ---------------------------------------------------------------


def test_dashboard_figures_match_the_known_events(known_day, now):
    figures = selectors.dashboard(now=now)
    assert figures.units_held == 4 + 3 + 1
    assert figures.reserved_last_10_minutes == 4
    assert figures.reservations_per_minute == pytest.approx(0.4)
    assert figures.confirmed_last_hour == 3
    assert figures.expired_last_hour == 1
    assert (figures.confirmed_in_period, figures.released_in_period) == (3, 1)
    assert figures.conversion == pytest.approx(0.75)


def test_low_stock_alerts_use_each_rows_threshold_or_the_setting(known_day, now):
    figures = selectors.dashboard(now=now)
    assert figures.low_stock_count == 3
    shown = [row.pk for row in figures.low_stock]
    assert shown == [known_day["empty"].pk, known_day["low"].pk, known_day["custom"].pk]
    assert [row.alert_at for row in figures.low_stock] == [0, 3, 10]
    assert all(row.is_low for row in figures.low_stock)


def test_conversion_covers_the_chosen_period(known_day, now):
    week = selectors.dashboard(period="7d", now=now)
    assert (week.confirmed_in_period, week.released_in_period) == (3, 6)
    assert week.conversion == pytest.approx(3 / 9)
    hour = selectors.dashboard(period="1h", now=now)
    assert hour.conversion is None  # only a pending hold was made in the last hour


def test_chart_counts_each_minute_of_the_last_half_hour(known_day, now):
    chart = selectors.dashboard(now=now).chart
    assert len(chart) == selectors.CHART_MINUTES
    assert chart[-1].minute == now.replace(second=0, microsecond=0)
    by_minute = {point.minute: point for point in chart}
    two_ago = (now - timedelta(minutes=2)).replace(second=0, microsecond=0)
    assert by_minute[two_ago].reserved == 3
    assert sum(p.reserved for p in chart) == 5
    assert sum(p.confirmed for p in chart) == 2  # 59 and 61 minutes ago are off the chart
    assert sum(p.expired for p in chart) == 1


def test_empty_database_gives_zeros_not_errors(now):
    figures = selectors.dashboard(now=now)
    assert figures.units_held == 0
    assert figures.reservations_per_minute == 0
    assert figures.conversion is None
    assert figures.low_stock == []
    assert sum(p.reserved + p.confirmed + p.expired for p in figures.chart) == 0


def test_dashboard_page_shows_the_known_figures(client, staff, known_day):
    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    assert '<p class="stat-value">8</p>' in html  # units held
    assert '<p class="stat-value">0.4</p>' in html  # reservations per minute
    assert '<p class="stat-value">75%</p>' in html  # conversion over 24 hours
    assert 'data-testid="low-stock-count">3</span>' in html
    assert known_day["low"].product.name in html
    assert known_day["hidden"].product.name not in html


@pytest.mark.parametrize("period", ["forever", "", "1h'--"])
def test_unknown_period_falls_back_to_24_hours(client, staff, period):
    client.force_login(staff)
    response = client.get("/admin/", {"period": period})
    assert response.status_code == 200
    assert 'hx-get="/admin/?period=24h"' in response.content.decode()


def test_dashboard_figures_take_five_queries_whatever_the_data(
    known_day, now, django_assert_num_queries
):
    with django_assert_num_queries(5):
        selectors.dashboard(now=now)


def test_dashboard_page_query_count_is_pinned(
    client, staff, known_day, django_assert_max_num_queries
):
    client.force_login(staff)
    for _ in range(20):
        InventoryFactory(total_stock=1, reserved_stock=0)  # more low rows: no more queries
    # session, user, the five live figures, the seven totals and the warehouses' utilisation
    with django_assert_max_num_queries(15):
        assert client.get("/admin/").status_code == 200


# --- the shop's totals, the week, the split, top products and utilisation -----------------


@pytest.fixture
def shop(now):
    """Two active warehouses and one closed, two products, holds in each status, a waitlist."""
    north, south = WarehouseFactory(city="Agra"), WarehouseFactory(city="Bhopal")
    closed = WarehouseFactory(city="Closed", active=False)
    mat = ProductFactory(name="Yoga Mat", category="Fitness")
    lamp = ProductFactory(name="Desk Lamp", category="Lifestyle")
    rows = {
        "mat_north": InventoryFactory(
            product=mat, warehouse=north, total_stock=10, reserved_stock=3
        ),
        "lamp_north": InventoryFactory(
            product=lamp, warehouse=north, total_stock=30, reserved_stock=0
        ),
        "lamp_south": InventoryFactory(
            product=lamp, warehouse=south, total_stock=8, reserved_stock=2
        ),
        "closed": InventoryFactory(
            product=lamp, warehouse=closed, total_stock=50, reserved_stock=0
        ),
    }
    for status, days_ago, row in [
        (Status.PENDING, 0, rows["mat_north"]),
        (Status.CONFIRMED, 0, rows["mat_north"]),
        (Status.CONFIRMED, 2, rows["mat_north"]),
        (Status.RELEASED, 2, rows["lamp_south"]),
    ]:
        _hold(status, now - timedelta(days=days_ago), row)
    WaitlistEntryFactory(product=lamp, warehouse=south)
    return rows


def test_dashboard_shows_the_shops_totals_as_figure_cards(client, staff, shop):
    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    for testid, value in [
        ("kpi-products", "2"),
        ("kpi-warehouses", "2"),
        ("kpi-active-holds", "1"),
        ("kpi-confirmed", "2"),
        ("kpi-released", "1"),
        ("kpi-waitlist", "1"),
        ("kpi-total-stock", "98"),
        ("kpi-reserved-units", "5"),
    ]:
        card = html[html.index(f'data-testid="{testid}"') :]
        assert card[: card.index("</article>")].count(f'<p class="kpi-value">{value}</p>'), testid
    assert '<p class="kpi-note">pending, each held up to 10 min</p>' in html


def test_time_based_cards_carry_a_week_sparkline_in_words(client, staff, shop):
    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    assert 'aria-label="Confirmed, made each day over the last 7 days: 0, 0, 0, 0, 1, 0, 1"' in html
    assert 'aria-label="Released, made each day over the last 7 days: 0, 0, 0, 0, 1, 0, 0"' in html
    assert html.count('<svg class="sparkline"') == 3


def test_week_chart_and_split_come_as_json_with_a_table_to_read(client, staff, shop):
    client.force_login(staff)
    response = client.get("/admin/")
    html = response.content.decode()
    assert '<script id="week-chart-data" type="application/json">' in html
    assert '<script id="split-chart-data" type="application/json">' in html
    assert 'data-testid="week-table"' in html
    split = response.context["split_data"]
    assert split == {"labels": ["Confirmed", "Pending", "Released"], "counts": [2, 1, 1]}
    week = response.context["week_data"]
    assert week["confirmed"] == [0, 0, 0, 0, 1, 0, 1] and week["pending"][-1] == 1
    assert "(50%)" in html and "(25%)" in html  # confirmed 2 of 4, pending 1 of 4


def test_top_products_rank_by_holds_made(client, staff, shop):
    client.force_login(staff)
    html = client.get("/admin/").content.decode()
    top = html[html.index('data-testid="top-products"') :]
    assert top.index("Yoga Mat") < top.index("Desk Lamp")
    assert 'aria-label="Yoga Mat: 3 holds"' in top


def test_utilisation_counts_each_active_warehouse(shop):
    use = selectors.warehouse_utilisation()
    assert [(u.place, u.reserved, u.total, u.percent) for u in use] == [
        ("Agra", 3, 40, 8),
        ("Bhopal", 2, 8, 25),
    ]


def test_week_days_are_calendar_days_in_the_shops_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    row = InventoryFactory()
    today = timezone.localdate()
    local_midnight = timezone.make_aware(datetime.combine(today, time.min))
    # 00:30 in Kolkata is still the day before in UTC: it counts today, not yesterday.
    _hold(Status.CONFIRMED, local_midnight + timedelta(minutes=30), row)
    _hold(Status.CONFIRMED, local_midnight - timedelta(minutes=30), row)
    chart = selectors.stats(today=today).chart
    assert (chart[-1]["date"], chart[-1]["confirmed"]) == (today.isoformat(), 1)
    assert chart[-2]["confirmed"] == 1


def test_a_sparkline_spans_its_box_from_zero_to_the_largest_value():
    line = display.sparkline([0, 2, 4])
    assert line.points == "0.0,30.0 48.0,16.0 96.0,2.0"
    assert line.summary == "0, 2, 4"
    assert display.sparkline([0, 0]).points == "0.0,30.0 96.0,30.0"


# --- GET /api/admin/stats ------------------------------------------------------------------


def test_stats_figures_match_a_known_fixture(client, staff, now):
    north, south = WarehouseFactory(), WarehouseFactory()
    WarehouseFactory(active=False)
    mat = ProductFactory(name="Yoga Mat", category="Fitness")
    lamp = ProductFactory(name="Desk Lamp", category="Lifestyle")
    ProductFactory(active=False)
    mat_north = InventoryFactory(product=mat, warehouse=north, total_stock=10, reserved_stock=3)
    lamp_south = InventoryFactory(product=lamp, warehouse=south, total_stock=7, reserved_stock=1)
    today = timezone.localdate()
    for status, days_ago, row in [
        (Status.PENDING, 0, mat_north),
        (Status.PENDING, 0, mat_north),
        (Status.CONFIRMED, 0, mat_north),
        (Status.CONFIRMED, 1, lamp_south),
        (Status.RELEASED, 6, mat_north),
        (Status.RELEASED, 7, lamp_south),  # before the chart's first day
    ]:
        _hold(status, now - timedelta(days=days_ago), row)
    WaitlistEntryFactory.create_batch(2, product=mat, warehouse=north)
    WaitlistEntryFactory(product=mat, warehouse=north, status=WaitlistEntry.Status.CANCELLED)

    client.force_login(staff)
    response = client.get("/api/admin/stats")
    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {
        "products": 2,
        "warehouses": 2,
        "reservations": 6,
        "pending": 2,
        "confirmed": 2,
        "released": 2,
        "waitlist": 2,
        "totalStock": 17,
        "reservedStock": 4,
    }
    chart = body["chart"]
    assert [day["date"] for day in chart] == [
        (today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    assert chart[-1] == {"date": today.isoformat(), "confirmed": 1, "released": 0, "pending": 2}
    assert chart[-2]["confirmed"] == 1
    assert chart[0]["released"] == 1
    assert sum(day["released"] for day in chart) == 1
    assert body["topProducts"] == [
        {"id": str(mat.pk), "name": "Yoga Mat", "category": "Fitness", "reservations": 4},
        {"id": str(lamp.pk), "name": "Desk Lamp", "category": "Lifestyle", "reservations": 2},
    ]


def test_stats_on_an_empty_database(client, staff):
    client.force_login(staff)
    body = client.get("/api/admin/stats").json()
    assert set(body["totals"].values()) == {0}
    assert len(body["chart"]) == 7
    assert body["topProducts"] == []


def test_stats_query_count_is_pinned(client, staff, django_assert_max_num_queries):
    InventoryFactory.create_batch(5)
    client.force_login(staff)
    with django_assert_max_num_queries(9):  # session, user, and seven aggregates
        assert client.get("/api/admin/stats").status_code == 200
