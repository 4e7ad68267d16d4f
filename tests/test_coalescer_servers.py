"""The hold coalescer in every process model stockd ships, over real HTTP.

The Procfile's `web` (gunicorn, uvicorn workers, the ASGI app: holds are awaited on the
event loop) and the WSGI app under gunicorn's threads (holds handed to the coalescer's own
loop): 40 shoppers at once for the last 10 units get exactly 10 holds and 30 clean 409s,
and the stock row, holds and events agree.
"""

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.test import Client

from reservations.invariants import find_violations
from reservations.models import Reservation, ReservationEvent
from tests.factories import InventoryFactory, UserFactory
from tests.processes import env_for_test_database, served, wsgi_gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOPPERS, UNITS = 40, 10
SERVERS = {"asgi-uvicorn-workers": served, "wsgi-gthread": wsgi_gunicorn}


def _post(url: str, body: dict, headers: dict | None = None) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("model", SERVERS)
def test_shoppers_racing_for_the_last_units_get_exactly_one_hold_per_unit(tmp_path, model):
    row = InventoryFactory(total_stock=UNITS)
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1}
    env = env_for_test_database(HOLD_COALESCING="1", RESERVE_RATE_LIMIT="")
    statuses: list[int] = []
    with SERVERS[model](tmp_path, env, workers=2) as url:
        start = threading.Barrier(SHOPPERS)

        def shop() -> None:
            start.wait(timeout=60)
            statuses.append(_post(f"{url}/api/reservations", body))

        shoppers = [threading.Thread(target=shop) for _ in range(SHOPPERS)]
        for shopper in shoppers:
            shopper.start()
        for shopper in shoppers:
            shopper.join(timeout=120)
    assert sorted(statuses) == [201] * UNITS + [409] * (SHOPPERS - UNITS)
    row.refresh_from_db()
    assert (row.total_stock, row.reserved_stock) == (UNITS, UNITS)
    assert Reservation.objects.count() == ReservationEvent.objects.count() == UNITS
    assert find_violations() == []


def test_a_signed_in_shopper_holds_on_the_event_loop_and_cross_site_writes_are_refused(tmp_path):
    row = InventoryFactory(total_stock=5)
    shopper = UserFactory()
    client = Client()
    client.force_login(shopper)
    cookies = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 2}
    env = env_for_test_database(HOLD_COALESCING="1", RESERVE_RATE_LIMIT="")
    with served(tmp_path, env, workers=1) as url:
        refused = _post(
            f"{url}/api/reservations",
            body,
            {"Cookie": cookies, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        held = _post(
            f"{url}/api/reservations",
            body,
            {"Cookie": cookies, "Origin": url, "Sec-Fetch-Site": "same-origin"},
        )
    assert (refused, held) == (403, 201)  # no CSRF token either time: the origin decides
    (hold,) = Reservation.objects.all()
    assert (hold.user_id, hold.guest_id, hold.quantity) == (shopper.pk, None, 2)
