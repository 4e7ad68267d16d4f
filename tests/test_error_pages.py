"""Every error is JSON under /api/ and a designed page elsewhere, whatever raised it, with DEBUG
on or off (issue 13, item 8).

Each request here is a real one through the whole middleware stack: a bad Host header, 1,001
query parameters, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, an unknown path, a CSRF failure and
views that raise. With DEBUG on Django would show its technical pages (the URL list, the
traceback); core.error_handlers.ErrorPagesMiddleware answers as with DEBUG off instead.
"""

import json
import re

import pytest
from django.contrib import auth
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader
from django.test import Client
from django.urls import path
from django.utils.functional import SimpleLazyObject
from django.views.decorators.csrf import csrf_protect
from rest_framework.test import APIClient

import stockd.urls
from core.error_handlers import handler500 as handler500_view
from reservations.models import WaitlistEntry
from tests.factories import InventoryFactory, UserFactory

# A URLconf of stockd's routes plus views that fail, with stockd's error handlers (Django
# reads handler400..500 from the root URLconf module).
handler400 = stockd.urls.handler400
handler403 = stockd.urls.handler403
handler404 = stockd.urls.handler404
handler500 = stockd.urls.handler500


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def _missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such thing")


@csrf_protect
def _form(request: HttpRequest) -> HttpResponse:
    return HttpResponse("posted")


urlpatterns = [
    path("api/test/boom", _boom),
    path("test/boom/", _boom),
    path("api/test/forbidden", _forbidden),
    path("test/forbidden/", _forbidden),
    path("api/test/missing", _missing),
    path("test/missing/", _missing),
    path("api/test/form", _form),
    *stockd.urls.urlpatterns,
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

TOO_MANY_PARAMETERS = "&".join(f"p{i}=1" for i in range(1001))
LIMIT = 2_621_440  # DATA_UPLOAD_MAX_MEMORY_SIZE, Django's default


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def site(debug) -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def api_client(debug) -> APIClient:
    return APIClient(raise_request_exception=False)


def _json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert body["error"]
    return body


def _page(response, status: int, heading: str) -> str:
    """Assert a designed page: the status, the shop's header and footer, and its heading."""
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert re.search(r'<h1 id="error-heading">([^<]*)</h1>', html).group(1) == heading
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    assert 'data-testid="error-page"' in html
    for technical in ("Traceback", "Using the URLconf", "Django tried these URL patterns"):
        assert technical not in html
    return html


# --- Bad Host header (DisallowedHost) ---------------------------------------------------------


def test_a_bad_host_header_is_a_json_400_under_api(api_client):
    response = api_client.get("/api/products", HTTP_HOST="evil.example")

    _json_error(response, 400, "BAD_REQUEST")


def test_a_bad_host_header_is_the_400_page_elsewhere(site):
    response = site.get("/", HTTP_HOST="evil.example")

    _page(response, 400, "This address is not served here")


# --- 1,001 query parameters (TooManyFieldsSent) ------------------------------------------------


def test_too_many_query_parameters_are_a_json_400_under_api(api_client):
    response = api_client.get(f"/api/products?{TOO_MANY_PARAMETERS}")

    body = _json_error(response, 400, "TOO_MANY_FIELDS")
    assert "1000" in body["error"]


def test_too_many_query_parameters_are_the_400_page_elsewhere(site):
    response = site.get(f"/?{TOO_MANY_PARAMETERS}")

    html = _page(response, 400, "That request has too many parameters")
    assert "TOO_MANY_FIELDS" in html


# --- A body over the upload limit (RequestDataTooBig) ------------------------------------------


def _waitlist_body() -> str:
    stock = InventoryFactory(total_stock=0)
    return json.dumps(
        {"productId": stock.product_id, "warehouseId": stock.warehouse_id, "quantity": 1}
        | {"email": "shopper@example.com"}
    )


def test_a_body_over_the_limit_is_a_json_413_under_api_and_writes_nothing(api_client):
    body = _waitlist_body()
    padded = " " * (LIMIT + 1 - len(body)) + body  # valid JSON, one byte over the limit

    response = api_client.post("/api/waitlist", padded, content_type="application/json")

    _json_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert not WaitlistEntry.objects.exists()


def test_a_body_at_the_limit_is_read(api_client):
    body = _waitlist_body()
    padded = " " * (LIMIT - len(body)) + body

    response = api_client.post("/api/waitlist", padded, content_type="application/json")

    assert response.status_code == 201, response.content[:300]
    assert WaitlistEntry.objects.count() == 1


def test_a_form_over_the_limit_is_the_413_page_elsewhere(site):
    form = "email=a%40b.c&password=" + "x" * LIMIT

    response = site.post("/accounts/login/", form, content_type="application/x-www-form-urlencoded")

    _page(response, 413, "That request is too large")


# --- Unknown paths, missing objects (Http404, Resolver404) -------------------------------------


def test_an_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/no-such-thing")

    _json_error(response, 404, "NOT_FOUND")


def test_an_unknown_page_is_the_404_page(site):
    response = site.get("/no-such-page/")

    _page(response, 404, "We couldn't find that page")


def test_a_view_raising_http404_is_json_under_api_and_the_page_elsewhere(site):
    _json_error(site.get("/api/test/missing"), 404, "NOT_FOUND")
    _page(site.get("/test/missing/"), 404, "We couldn't find that page")


# --- A view that raises (500) ------------------------------------------------------------------


def test_a_view_that_raises_is_a_json_500_under_api(api_client):
    response = api_client.get("/api/test/boom")

    body = _json_error(response, 500, "INTERNAL_ERROR")
    assert "a bug in a view" not in body["error"]


def test_a_view_that_raises_is_the_500_page_elsewhere(site):
    response = site.get("/test/boom/")

    html = _page(response, 500, "Something went wrong on our side")
    assert "a bug in a view" not in html


def test_the_500_page_renders_with_the_database_unreachable(rf, django_db_blocker):
    """The database may be what failed: the page loads no session, no user, runs no context
    processor (each would query), so it renders with every query refused."""
    signed_in = Client()
    signed_in.force_login(UserFactory())
    request = rf.get("/orders/")
    request.session = SessionStore(signed_in.session.session_key)
    request.user = SimpleLazyObject(lambda: auth.get_user(request))

    with django_db_blocker.block():
        response = handler500_view(request)

    html = _page(response, 500, "Something went wrong on our side")
    assert "Sign in" in html  # the header, drawn without the user


# --- Forbidden, CSRF ---------------------------------------------------------------------------


def test_permission_denied_is_a_json_403_under_api_and_the_page_elsewhere(site):
    _json_error(site.get("/api/test/forbidden"), 403, "FORBIDDEN")
    _page(site.get("/test/forbidden/"), 403, "You can't open this page")


def test_a_csrf_failure_is_a_json_403_under_api(debug):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    response = client.post("/api/test/form", {"a": "b"})

    body = _json_error(response, 403, "CSRF_FAILED")
    assert "CSRF" in body["error"]


def test_a_csrf_failure_on_a_form_is_the_403_page(debug):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)

    response = client.post("/accounts/login/", {"username": "a@b.c", "password": "x"})

    html = _page(response, 403, "This form has expired")
    assert "CSRF_FAILED" in html


# --- The pages other code renders --------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "heading"),
    [("errors/429.html", "Slow down a little"), ("errors/503.html", "We'll be back in a moment")],
)
def test_the_429_and_503_pages_render_without_a_request(template, heading):
    html = loader.render_to_string(
        template, {"error": "The database is unavailable; retry shortly.", "retry_after": 5}
    )

    assert re.search(r'<h1 id="error-heading">([^<]*)</h1>', html).group(1) == heading
    assert "The database is unavailable; retry shortly." in html
    assert "Try again in 5 seconds." in html
