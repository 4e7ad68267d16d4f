"""Requests framed to break Django's reading of them get a 4xx and change nothing, never a 500."""

import http.client
import json
import urllib.parse
import wsgiref.util

import pytest

from reservations.models import Reservation
from tests.factories import InventoryFactory
from tests.processes import env_for_test_database, wsgi_gunicorn

FORM = "application/x-www-form-urlencoded"


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["rot13", "bz2_codec", "no-such-charset"])
def test_a_form_body_in_a_charset_that_is_not_a_text_encoding_is_a_json_400(api, charset):
    stock = InventoryFactory(total_stock=5)
    body = f"productId={stock.product_id}&warehouseId={stock.warehouse_id}&quantity=1"

    response = api.generic(
        "POST", "/api/reservations", body.encode(), content_type=f"{FORM}; charset={charset}"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "UNSUPPORTED_CHARSET"
    assert charset in response.json()["error"]
    assert not Reservation.objects.exists()


def _call_wsgi(path: str, query: str, content_type: str) -> tuple[str, dict, bytes]:
    """Call stockd's WSGI application (the one gunicorn serves) the way a server would."""
    from stockd.wsgi import application

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    environ["CONTENT_TYPE"] = content_type
    wsgiref.util.setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer.update(status=status, headers=dict(headers))

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/reservations", "/"])
def test_a_query_string_with_a_rot13_content_type_is_a_400_before_django_builds_the_request(
    path,
):
    """WSGIRequest decodes the query string while it is built, before any middleware runs."""
    status, headers, body = _call_wsgi(path, "page=1", f"{FORM}; charset=rot13")

    assert status == "400 Bad Request"
    if path.startswith("/api/"):
        assert json.loads(body)["code"] == "UNSUPPORTED_CHARSET"
    else:
        assert headers["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_the_wsgi_guard_lets_a_text_charset_through():
    status, _, _ = _call_wsgi("/healthz", "page=1", f"{FORM}; charset=utf-8")

    assert status.startswith("200")


@pytest.mark.django_db
def test_a_page_with_a_rot13_content_type_is_a_plain_400(client):
    response = client.generic("POST", "/", b"a=b", content_type=f"{FORM}; charset=rot13")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_a_text_charset_is_still_read(api):
    stock = InventoryFactory(total_stock=5)
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 1}

    response = api.post(
        "/api/reservations",
        json.dumps(body).encode("latin-1"),
        content_type="application/json; charset=latin-1",
    )

    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_a_chunked_body_a_server_cannot_end_is_a_json_411(api):
    """Without a server that frames it (core.serving.framing), Django would read it empty."""
    stock = InventoryFactory(total_stock=5)
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 1}

    response = api.post(
        "/api/reservations",
        json.dumps(body),
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert response.json()["code"] == "LENGTH_REQUIRED"
    assert not Reservation.objects.exists()


def _post(url: str, path: str, body, headers: dict[str, str]) -> tuple[int, dict]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _chunks(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_wsgi_app_reads_a_chunked_body_and_refuses_bad_framing_with_a_4xx(tmp_path):
    """stockd.wsgi under gunicorn; the served ASGI app: tests/test_served_app.py."""
    stock = InventoryFactory(total_stock=5)
    body = {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 2}
    data = json.dumps(body).encode()
    chunked = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}

    with wsgi_gunicorn(tmp_path, env_for_test_database()) as url:
        status, answer = _post(url, "/api/reservations", _chunks(data, 7), chunked)
        assert status == 201, answer
        assert answer["quantity"] == 2

        too_big = b" " * (2_621_440 + 1) + data  # one byte past DATA_UPLOAD_MAX_MEMORY_SIZE
        status, answer = _post(url, "/api/reservations", _chunks(too_big, 65_536), chunked)
        assert (status, answer["code"]) == (413, "PAYLOAD_TOO_LARGE")

        rot13 = {"Content-Type": f"{FORM}; charset=rot13"}
        for path in ["/api/reservations", "/api/reservations?page=1"]:
            status, answer = _post(url, path, iter([b"quantity=1"]), rot13)
            assert (status, answer["code"]) == (400, "UNSUPPORTED_CHARSET"), path

    assert Reservation.objects.filter(product_id=stock.product_id).count() == 1
    stock.refresh_from_db()
    assert stock.reserved_stock == 2
