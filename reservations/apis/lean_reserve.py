"""The reserve hot path: an unkeyed POST /api/reservations naming its warehouse, answered on
the event loop ahead of Django (core.serving.lean), awaiting the hold coalescer.

It answers the common case only: a POST without an Idempotency-Key or a query string, with a
JSON body (UTF-8) that names a `warehouseId`, accepting JSON, while HOLD_COALESCING is on.
Everything else (keyed retries, routed holds, other media types, bodies DRF must refuse)
goes to ReservationCollectionApi through Django, untouched.

Each step is the one the DRF view runs, called here, never copied: the cross-origin rule
(core.cross_origin), the session's user (Django's SessionMiddleware and get_user), the
reserve rate limit (reservations.throttling), the JSON parser (core.parsers), the body's
validation and the shopper (reservations.apis.holds), the hold
(reservations.services.holds.areserve), its JSON (reservations.apis.bodies) and the error
body (core.error_handlers, through core.serving.lean). tests/test_lean_reserve.py checks
that both paths give the same answers, and test_authorization_matrix and
test_response_shapes run through both.
"""

import io
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import ParseError, Throttled

from core.cross_origin import refuse_cross_site_cookie_write
from core.parsers import parse_json
from core.serving.lean import json_response
from core.serving.request_threads import off_loop
from reservations import coalescer, guests
from reservations.apis.bodies import reservation_body
from reservations.apis.holds import ReservationCollectionApi, read_line
from reservations.services import holds
from reservations.throttling import ReserveRateThrottle, seconds_to_wait

_JSON_TYPES = frozenset({b"application/json"})
_JSON_CHARSETS = frozenset({b"utf-8", b"utf8"})
_ACCEPTS_JSON = frozenset({b"*/*", b"application/*", b"application/json"})


class LeanReserve:
    path = "/api/reservations"
    view = ReservationCollectionApi

    def takes(self, scope: dict) -> bool:
        """A POST without Idempotency-Key or query string, sending and accepting plain JSON."""
        if scope["method"] != "POST" or scope["query_string"] or not settings.HOLD_COALESCING:
            return False
        content_type = accept = None
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"idempotency-key":
                return False
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
        return _is_json(content_type) and _accepts_json(accept)

    def reads(self, request: HttpRequest) -> dict | None:
        """The JSON object the body holds if it names a warehouse, else None (Django answers)."""
        try:
            request.get_host()
            given = parse_json(io.BytesIO(request.body))
        except (DisallowedHost, ParseError):
            return None
        return given if isinstance(given, dict) and "warehouseId" in given else None

    async def answer(self, request: HttpRequest, given: dict) -> HttpResponse:
        coalescer.get().use_running_loop()  # the server's loop outlives every request
        refuse_cross_site_cookie_write(request)
        # The session's user, as AuthenticationMiddleware gives it to DRF's view; without a
        # session cookie there is nothing to read (AnonymousUser, no query).
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            request.user = await off_loop(get_user)(request)
        else:
            request.user = get_user(request)
        if ReserveRateThrottle.limits_anything():
            wait = await off_loop(seconds_to_wait)(request)
            if wait is not None:
                raise Throttled(wait)
        line, shopper = read_line(request, given)
        hold = await holds.areserve(warehouse_id=line["warehouseId"], **shopper)
        response = json_response(reservation_body(hold, request), HTTPStatus.CREATED)
        guests.remember_guest(request, response, shopper["guest_id"])
        return response


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    media_type, *parameters = content_type.split(b";")
    if media_type.strip().lower() not in _JSON_TYPES:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition(b"=")
        if name.strip().lower() != b"charset" or value.strip().lower() not in _JSON_CHARSETS:
            return False
    return True


def _accepts_json(accept: bytes | None) -> bool:
    if accept is None:
        return True
    if b";" in accept:  # quality factors: DRF's negotiation decides
        return False
    return any(media.strip().lower() in _ACCEPTS_JSON for media in accept.split(b","))
