"""Channel quotas over HTTP, under the server the Procfile runs (gunicorn, uvicorn workers,
stockd.asgi) with two workers: the storefront's shoppers and two channels' keys storm one
row at once, every hold on the coalesced path, and each channel gets exactly its quota."""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest

from integrations.keys import create_key
from reservations.invariants import find_violations
from reservations.models import Reservation
from sales import services
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, served

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUOTAS = {"web": 50, "app": 30, "partner": 20}  # 100 units in all
REQUESTS = 500


def _post(url: str, body: dict, key: str | None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())["channel"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())["code"]


def test_500_holds_from_three_channels_get_exactly_their_quotas(tmp_path):
    row = InventoryFactory(total_stock=100)
    keys: dict[str, str | None] = {"web": None}
    for code in ("app", "partner"):
        channel = services.create_channel(code=code, name=code.title())
        keys[code] = create_key(name=code, scopes=["holds"], channel=channel).plain
    for code, quota in QUOTAS.items():
        services.set_allocation(code, row.product_id, {"quota": quota})
    body = {"productId": row.product_id, "warehouseId": row.warehouse_id, "quantity": 1}
    channels = list(QUOTAS)
    answers: list[tuple[int, str]] = []
    # Channels' holds are DRF views on threads: Django's pool keeps their connections to ten
    # a worker, however many requests arrive at once (PostgreSQL allows 100 in all).
    env = env_for_test_database(
        HOLD_COALESCING="1",
        RESERVE_RATE_LIMIT="",
        DATABASE_POOL="1",
        DATABASE_POOL_MAX_SIZE="10",
    )
    with served(tmp_path, env, workers=2) as url:
        start = threading.Barrier(REQUESTS)

        def shop(i: int) -> None:
            start.wait(timeout=120)
            answers.append(_post(f"{url}/api/reservations", body, keys[channels[i % 3]]))

        shoppers = [threading.Thread(target=shop, args=(i,)) for i in range(REQUESTS)]
        for shopper in shoppers:
            shopper.start()
        for shopper in shoppers:
            shopper.join(timeout=300)
    assert len(answers) == REQUESTS
    created = Counter(channel for status, channel in answers if status == 201)
    refused = Counter(code for status, code in answers if status == 409)
    assert created == QUOTAS
    others = [answer for answer in answers if answer[0] not in (201, 409)]
    assert sum(refused.values()) == REQUESTS - 100, others
    assert set(refused) <= {"CHANNEL_QUOTA_REACHED", "INSUFFICIENT_STOCK"}
    held = Counter(Reservation.objects.values_list("channel", flat=True))
    assert held == QUOTAS
    assert find_violations() == []
