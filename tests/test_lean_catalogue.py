"""The shared catalogue sent from the lean path (inventory/lean_catalogue.py) is the view's.

Through stockd.asgi's application, on committed rows, with the catalogue shared for a
second: the first GET /api/products misses and ProductListApi renders and shares it; the
next is sent from the cache by the lean path, which must send the same bytes and headers.
A spy on the lean path's `answer` proves which path answered.
"""

from collections.abc import Iterator
from unittest import mock

import pytest
from django.test import override_settings

from inventory.lean_catalogue import LeanCatalogue
from tests.asgi_client import AsgiClient, committed_rows
from tests.factories import InventoryFactory, UserFactory

_VARYING_HEADERS = {"date", "x-request-id"}


@pytest.fixture
def shop(request) -> Iterator[None]:
    with committed_rows(request), override_settings(CATALOGUE_CACHE_SECONDS=1):
        InventoryFactory(total_stock=7)
        InventoryFactory(total_stock=0)
        yield


def _shape(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in _VARYING_HEADERS}
    return response.status_code, response.content, headers


@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "signed-in"])
def test_a_shared_catalogue_is_sent_as_the_view_sends_it(shop, signed_in):
    client = AsgiClient()
    if signed_in:
        client.force_login(UserFactory(password=None))
    with mock.patch.object(
        LeanCatalogue, "answer", autospec=True, side_effect=LeanCatalogue.answer
    ) as lean_answer:
        rendered = client.get("/api/products")
        assert not lean_answer.called  # a miss: the view rendered it
        shared = client.get("/api/products")
        assert lean_answer.called
    assert rendered.status_code == 200 and len(rendered.json()) == 2
    assert _shape(shared) == _shape(rendered)


def test_a_filtered_catalogue_and_an_html_accept_go_to_the_view(shop):
    client = AsgiClient()
    with mock.patch.object(
        LeanCatalogue, "answer", autospec=True, side_effect=LeanCatalogue.answer
    ) as lean_answer:
        for _ in range(2):
            assert client.get("/api/products", {"limit": "1"}).status_code == 200
            assert client.get("/api/products", headers={"Accept": "text/html"}).status_code == 406
    assert not lean_answer.called


# In-process, with a django_db mark: pytest-django then sets up the test database the tests
# above (through the ASGI app) need, when this module runs alone.
@pytest.mark.django_db
def test_the_lean_path_takes_only_a_plain_get_while_answers_are_shared():
    takes = LeanCatalogue().takes
    get = {"method": "GET", "query_string": b"", "headers": []}
    with override_settings(CATALOGUE_CACHE_SECONDS=1):
        assert takes(get)
        assert not takes({**get, "method": "HEAD"})
        assert not takes({**get, "query_string": b"q=mat"})
        assert not takes({**get, "headers": [(b"accept", b"text/html")]})
    with override_settings(CATALOGUE_CACHE_SECONDS=0):
        assert not takes(get)
