"""A test client that sends its requests into stockd.asgi's application, as the server does.

The in-process clients (django.test.Client, DRF's APIClient) call Django's handler directly.
This one goes through the ASGI app that gunicorn's uvicorn workers serve, by httpx's
ASGITransport, with the part of those clients' interface the contract tests use: get, post,
put, patch, delete and generic with `data`, `format="json"` or `content_type`, `headers=` and
`HTTP_*` keywords, and force_login. Its cookies persist between calls, as a browser's do.

Every request runs on one event loop, on a thread of its own, for the rest of the session:
what the app binds to the running loop (the hold coalescer) outlives the request that bound
it, as under a server. The app's sync steps run on threads with their own database
connections, so a test using this client must commit its rows: see committed_rows().
"""

import asyncio
import functools
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partialmethod
from typing import Any

import httpx
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import got_request_exception
from django.db import connection, connections, transaction
from django.db.backends.base.creation import TEST_DATABASE_PREFIX
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils.crypto import get_random_string

from inventory.models import LedgerEntry
from stockd.asgi import application

WSGI, ASGI = "wsgi", "asgi"
BASE_URL = "http://testserver"  # the host the in-process clients use, in ALLOWED_HOSTS for tests
TIMEOUT_SECONDS = 60
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Rows the migrations make, which the tests share and leave alone.
_KEPT_MODELS = (ContentType, Permission)
# Append-only tables refuse DELETE (a trigger); TRUNCATE fires no row trigger.
_TRUNCATED_MODELS = (LedgerEntry,)


# The ways in, as pytest params: in-process, in pytest-django's test transaction as before;
# and through the ASGI app, on committed rows (committed_rows()). The ASGI variant carries no
# django_db mark: pytest-django would wrap it in a test transaction the app cannot see into,
# or with transaction=True empty every table after it (see committed_rows()).
TRANSPORTS = [
    pytest.param(WSGI, id=WSGI, marks=pytest.mark.django_db),
    pytest.param(ASGI, id=ASGI),
]


@contextmanager
def committed_rows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Open the test database to a test and the ASGI app, every write committed; then empty it.

    Holds are coalesced as in production: tests settings turn the coalescer off only because
    its batches commit on connections of their own, which see no uncommitted row. The
    override goes through pytest-django's `settings`, which the app, in this process, reads.

    pytest-django's transactional_db would do as well, but it empties the database with a
    TRUNCATE of every table, then recreates the content types and permissions: 0.2 to 0.4 s
    a test on this machine, which made the two contract files take five minutes, not two.
    Deleting the few rows a test made takes milliseconds.
    """
    request.getfixturevalue("django_db_setup")
    overrides = request.getfixturevalue("settings")
    with request.getfixturevalue("django_db_blocker").unblock():
        _check_test_database()
        overrides.HOLD_COALESCING = True
        try:
            yield
        finally:
            _delete_every_row()
            connections.close_all()


def _check_test_database() -> None:
    """Fail unless the test database is set up, and no test transaction is open.

    pytest-django sets the test database up only if a selected test is marked django_db
    (or asks for `db`); without one, the app would run on the database DATABASE_URL names.
    """
    name, test_name = connection.settings_dict["NAME"], connection.settings_dict["TEST"]["NAME"]
    if name != test_name and not name.startswith(TEST_DATABASE_PREFIX):
        pytest.fail(
            f"No test database is set up: the ASGI app would use {name!r}. pytest-django sets "
            "one up only for a selection with a django_db test in it: select an in-process "
            "(wsgi) test too.",
            pytrace=False,
        )
    assert transaction.get_autocommit(), "a test transaction is open: remove its django_db mark"


def _delete_every_row() -> None:
    """Empty every model's table but the content types' and permissions'.

    One transaction: PostgreSQL checks Django's foreign keys (deferrable) at its commit.
    """
    truncated = {model._meta.db_table for model in _TRUNCATED_MODELS}
    models = apps.get_models(include_auto_created=True)
    tables = {
        model._meta.db_table
        for model in models
        if model._meta.managed and not model._meta.proxy and model not in _KEPT_MODELS
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for table in sorted(truncated):
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(table)}")
        for table in sorted(tables - truncated):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


@functools.cache
def _app_loop() -> asyncio.AbstractEventLoop:
    """Start the loop the app runs on, on a daemon thread; it runs until the process ends."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="asgi-client", daemon=True).start()
    return loop


class _TransportOnTheAppLoop(httpx.BaseTransport):
    """httpx's ASGITransport, for a sync client: each request is run on the app's loop."""

    def __init__(self) -> None:
        self._asgi = httpx.ASGITransport(app=application)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(self._send(request), _app_loop())
        try:
            return future.result(TIMEOUT_SECONDS)
        except TimeoutError:
            future.cancel()  # an endless answer (an event stream) ends here
            raise TimeoutError(f"{request.method} {request.url}: no answer in time") from None

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body)


class AsgiResponse:
    """What the tests read of an answer: status, headers (also as response["Name"]), body."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.content = response.content

    def __getitem__(self, header: str) -> str:
        return self.headers[header]

    def json(self) -> Any:
        return json.loads(self.content)


class AsgiClient:
    """Send requests into the ASGI app, as a browser would, with the in-process clients' API.

    Unless `enforce_csrf_checks`, an unsafe request carries the CSRF cookie's token in the
    X-CSRFToken header, as a form or htmx on one of our pages sends it: the in-process clients
    skip the check instead, which a request from outside cannot. An exception the app raised
    while answering is raised here, as the in-process clients raise it.
    """

    def __init__(self, *, enforce_csrf_checks: bool = False) -> None:
        self._http = httpx.Client(transport=_TransportOnTheAppLoop(), base_url=BASE_URL)
        self._sends_csrf_token = not enforce_csrf_checks

    def force_login(self, user) -> None:
        """Sign `user` in: Django's test client makes the session; its cookie is kept here."""
        signed_in = Client()
        signed_in.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        self._keep_cookie(name, signed_in.cookies[name].value)

    def get(self, path: str, data: dict | None = None, *, headers=None, **extra) -> AsgiResponse:
        return self._send("GET", path, params=data, headers=_headers(headers, extra))

    def _send_with_body(
        self, method: str, path: str, data=None, format=None, content_type=None, **extra
    ) -> AsgiResponse:
        return self.generic(method, path, *_body(data, format, content_type), **extra)

    post = partialmethod(_send_with_body, "POST")
    put = partialmethod(_send_with_body, "PUT")
    patch = partialmethod(_send_with_body, "PATCH")
    delete = partialmethod(_send_with_body, "DELETE")

    def generic(
        self,
        method: str,
        path: str,
        data: str | bytes = b"",
        content_type: str | None = None,
        *,
        headers: dict | None = None,
        **extra: str,
    ) -> AsgiResponse:
        sent = _headers(headers, extra)
        if content_type is not None:
            sent.setdefault("Content-Type", content_type)
        if method in UNSAFE_METHODS and self._sends_csrf_token:
            sent.setdefault(_header_name(settings.CSRF_HEADER_NAME), self._csrf_token())
        body = data.encode() if isinstance(data, str) else data
        return self._send(method, path, content=body, headers=sent)

    def _send(self, method: str, path: str, **request: Any) -> AsgiResponse:
        raised = []

        def keep(**kwargs: Any) -> None:  # sent on the request's thread, inside its `except`
            raised.append(sys.exc_info()[1])

        got_request_exception.connect(keep)
        try:
            response = self._http.request(method, path, **request)
        finally:
            got_request_exception.disconnect(keep)
        if raised:
            raise raised[0]
        return AsgiResponse(response)

    def _csrf_token(self) -> str:
        """Return the CSRF cookie's value, setting one first if the app has set none yet.

        Django takes the cookie's secret itself as a token, as it takes a masked one.
        """
        token = self._http.cookies.get(settings.CSRF_COOKIE_NAME)
        if token is None:
            token = get_random_string(CSRF_SECRET_LENGTH, allowed_chars=CSRF_ALLOWED_CHARS)
            self._keep_cookie(settings.CSRF_COOKIE_NAME, token)
        return token

    def _keep_cookie(self, name: str, value: str) -> None:
        """Keep a cookie as if the app had set it, for the host the app's cookies are kept for.

        Setting it straight into the jar would file it under another domain, beside the
        app's cookie of the same name, and both would be sent.
        """
        answer = httpx.Response(
            200,
            headers={"Set-Cookie": f"{name}={value}; Path=/"},
            request=self._http.build_request("GET", "/"),
        )
        self._http.cookies.extract_cookies(answer)


def _body(data, format: str | None, content_type: str | None) -> tuple[str | bytes, str | None]:
    """Encode `data` as the in-process clients do: as given, as JSON, or as a multipart form."""
    if data is None:
        return b"", content_type
    if isinstance(data, str | bytes):
        return data, content_type
    if format == "json" or content_type == "application/json":
        return json.dumps(data, cls=DjangoJSONEncoder).encode(), "application/json"
    return encode_multipart(BOUNDARY, data), MULTIPART_CONTENT


def _headers(headers: dict | None, extra: dict[str, str]) -> dict[str, str]:
    """Merge `headers=` with request.META-style keywords: HTTP_SEC_FETCH_SITE is Sec-Fetch-Site."""
    merged = dict(headers or {})
    for key, value in extra.items():
        if not key.startswith("HTTP_"):
            raise TypeError(f"AsgiClient sends headers only, not {key}")
        merged[_header_name(key)] = value
    return merged


def _header_name(meta_key: str) -> str:
    return meta_key.removeprefix("HTTP_").replace("_", "-").title()
