"""The reserve hot path: an unkeyed POST /api/reservations naming its warehouse, answered on
the event loop ahead of Django (core.serving.lean), awaiting the hold coalescer.

It answers the common case only: a POST without an Idempotency-Key or a query string, with a
JSON object (UTF-8) for its body, accepting JSON, while HOLD_COALESCING is on, and not a
preorder. A body naming
a `warehouseId` holds there; one without is routed to the nearest warehouse that fits, each
attempt awaiting the coalescer (holds.areserve_nearest). Everything else (keyed retries, other
media types, bodies DRF must refuse) goes to ReservationCollectionApi through Django,
untouched.

Each step is the one the DRF view runs, called here, never copied: the cross-origin rule
(core.cross_origin) and the session's user (core.serving.lean.api_user), the
reserve rate limit (reservations.throttling), the JSON parser (core.parsers), the body's
validation and the shopper (reservations.apis.holds), the hold
(reservations.services.holds.areserve or areserve_nearest), its JSON
(reservations.apis.bodies) and the error body (core.error_handlers, through
core.serving.lean). tests/test_lean_reserve.py checks that both paths give the same answers,
and test_authorization_matrix and test_response_shapes run through both.
"""

import io
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import ParseError, Throttled

from core.parsers import parse_json
from core.serving.lean import accepts_json, api_user, header, json_response
from core.serving.request_threads import off_loop
from reservations import coalescer, guests
from reservations.apis.bodies import reservation_body
from reservations.apis.holds import ReservationCollectionApi, read_line
from reservations.services import holds
from reservations.throttling import ReserveRateThrottle, seconds_to_wait

_JSON_TYPES = frozenset({b"application/json"})
_JSON_CHARSETS = frozenset({b"utf-8", b"utf8"})


class LeanReserve:
    path = "/api/reservations"
    view = ReservationCollectionApi

    def takes(self, scope: dict) -> bool:
        """A POST without Idempotency-Key, Authorization or query string, sending and accepting
        plain JSON."""
        if scope["method"] != "POST" or scope["query_string"] or not settings.HOLD_COALESCING:
            return False
        return (
            header(scope, b"idempotency-key") is None
            and header(scope, b"authorization") is None  # a channel's key: DRF reads it
            and _is_json(header(scope, b"content-type"))
            and accepts_json(header(scope, b"accept"))
        )

    async def reads(self, request: HttpRequest) -> dict | None:
        """The JSON object the body holds, else None (Django answers)."""
        try:
            request.get_host()
            given = parse_json(io.BytesIO(request.body))
        except (DisallowedHost, ParseError):
            return None
        if not isinstance(given, dict) or "preorder" in given:  # preorders: Django's view
            return None
        return given

    async def answer(self, request: HttpRequest, given: dict) -> HttpResponse:
        coalescer.get().use_running_loop()  # the server's loop outlives every request
        await api_user(request)
        if ReserveRateThrottle.limits_anything():
            wait = await off_loop(seconds_to_wait)(request)
            if wait is not None:
                raise Throttled(wait)
        line, shopper = read_line(request, given)
        if "warehouseId" in line:
            hold = await holds.areserve(warehouse_id=line["warehouseId"], **shopper)
            body = reservation_body(hold, request)
        else:
            routed = await holds.areserve_nearest(origin=line["origin"], **shopper)
            body = reservation_body(routed.reservation, request, routed.distance_km)
        response = json_response(body, HTTPStatus.CREATED)
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
