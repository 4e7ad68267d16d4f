"""Preorder places under a storm, over HTTP, under the server the Procfile runs (gunicorn,
uvicorn workers, stockd.asgi) with two workers: 200 preorders at once against a limit of 20
give exactly 20 preorders, and every other one a clean 409."""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from datetime import date

import pytest

from integrations.keys import create_key
from reservations.invariants import find_violations
from reservations.models import Reservation
from reservations.services import preorders
from reservations.services.stock_states import Adjustment, adjust_states
from sales import services
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, served

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUESTS, LIMIT = 200, 20


def _post(url: str, body: dict, key: str) -> tuple[int, str]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())["kind"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["code"]


def test_200_concurrent_preorders_against_a_limit_of_20_give_exactly_20(tmp_path):
    row = InventoryFactory(total_stock=0)
    key = (row.product_id, row.warehouse_id)
    adjust_states([Adjustment(*key, "incoming", 50, "ADJUSTED")], actor="test")
    preorders.set_terms(key, limit=LIMIT, eta=date(2027, 1, 14))
    channel = services.create_channel(code="app", name="App")
    plain = create_key(name="app", scopes=["holds"], channel=channel).plain
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1,
            "preorder": True}  # fmt: skip
    answers: list[tuple[int, str]] = []
    env = env_for_test_database(
        RESERVE_RATE_LIMIT="", DATABASE_POOL="1", DATABASE_POOL_MAX_SIZE="10"
    )
    with served(tmp_path, env, workers=2) as url:
        start = threading.Barrier(REQUESTS)

        def shop() -> None:
            start.wait(timeout=120)
            answers.append(_post(f"{url}/api/reservations", body, plain))

        shoppers = [threading.Thread(target=shop) for _ in range(REQUESTS)]
        for shopper in shoppers:
            shopper.start()
        for shopper in shoppers:
            shopper.join(timeout=300)

    assert Counter(answers) == {(201, "PREORDER"): LIMIT,
                                (409, "PREORDER_LIMIT_REACHED"): REQUESTS - LIMIT}  # fmt: skip
    assert Reservation.objects.filter(kind="PREORDER", status="CONFIRMED").count() == LIMIT
    assert preorders.offer_of(key).placed == LIMIT
    assert find_violations() == []
