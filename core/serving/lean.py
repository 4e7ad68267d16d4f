"""Answer one API route on the event loop, in front of Django, with Django's and DRF's own parts.

Django's ASGI handler hands each hook of a MiddlewareMixin middleware (security headers, CSP,
metrics, sessions...) to a thread, a dozen hops a request; on the reserve hot path that was
most of the request's cost (docs/performance.md). Making those hooks run on the loop inside
Django meant patching it, which stockd no longer does (docs/decisions.md, "The hot path on
supported ground"). Instead, a LeanRoute answers the common case of one route itself, ahead
of Django, and hands every other request to Django untouched:

- `takes(scope)` decides from the headers alone; then the body is read (a declared
  Content-Length over DATA_UPLOAD_MAX_MEMORY_SIZE goes to Django, which answers 413);
- `reads(request)` parses it into the route's input, or says None: the request then goes to
  Django with the body it sent, as if nothing had looked at it;
- `answer(request, given)` answers it, raising as a DRF view does.

What a lean answer keeps, from the same code the Django path runs:
- its id and one log line (core.serving.requestlog);
- the middleware of LOOP_MIDDLEWARE that settings.MIDDLEWARE lists, in its order, through
  their public hooks (process_request, process_view, process_response; `before` and `after`
  of stockd's HookMiddleware), called on the loop: metrics (django-prometheus's and the
  reservations'), the security headers (SecurityMiddleware, CSP, X-Frame-Options). None of
  them does I/O;
- errors answered by the API's exception handler (core.error_handlers), rendered by DRF's
  JSONRenderer; anything else is logged as Django logs it and answered by handler500;
- the headers DRF's view adds to its answers (`default_response_headers`: Allow).

Django's request_started and request_finished signals are not sent: a lean answer uses no
connection of the loop's thread (its blocking steps run on core.serving.request_threads'
pool, which gives connections back after each step).
"""

import functools
import io
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user
from django.core.handlers.asgi import ASGIRequest
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.module_loading import import_string
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.cross_origin import refuse_cross_site_cookie_write
from core.error_handlers import api_exception_handler, handler500
from core.serving import requestlog
from core.serving.framing import body_limit, read_asgi_body, replay
from core.serving.middleware import HookMiddleware
from core.serving.request_threads import off_loop
from core.serving.requestid import request_id_in_context

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]

# The middleware whose hooks a lean answer runs, where settings.MIDDLEWARE lists them. Each
# does no I/O for an API request. The others have nothing to do for one (authentication:
# the route reads the session's user itself, off the loop; CSRF: DRF's views are exempt; common,
# messages, htmx: nothing for a JSON POST) or are the lean path's own (the request log, the
# error pages, request framing, database faults).
LOOP_MIDDLEWARE = frozenset(
    {
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "csp.middleware.CSPMiddleware",
        # The session, lazily (read only when the route asks for the user); its answer hook
        # adds Vary: Cookie once it was read, and writes only a modified session (the
        # reserve modifies none; stockd does not set SESSION_SAVE_EVERY_REQUEST).
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "reservations.middleware.ReservationMetricsMiddleware",
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    }
)

logger = logging.getLogger("django.request")
_JSON = JSONRenderer()
_ACCEPTS_JSON = frozenset({b"*/*", b"application/*", b"application/json"})


class LeanRoute(Protocol):
    path: str
    view: type[APIView]  # the DRF view that answers the route's other requests

    def takes(self, scope: dict) -> bool: ...

    async def reads(self, request: HttpRequest) -> Any | None: ...

    async def answer(self, request: HttpRequest, given: Any) -> HttpResponse: ...


def in_front_of(django: ASGIApp, routes: list[LeanRoute]) -> ASGIApp:
    """Return an ASGI app that answers `routes`' common cases and hands the rest to `django`."""
    by_path = {route.path: route for route in routes}
    match = functools.cache(resolve)
    view_headers = functools.cache(_view_headers)

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        route = by_path.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or not route.takes(scope) or not _within_body_limit(scope):
            await django(scope, receive, send)
            return
        body = await read_asgi_body(receive, None)  # the server holds it to Content-Length
        if body is None:  # the client left
            return
        try:
            request = ASGIRequest(scope, io.BytesIO(body))
            given = await route.reads(request)
        except Exception:  # Django answers it, as it answers any request it cannot read
            logger.exception("a lean route could not read %s; Django answers it", route.path)
            given = None
        if given is None:
            await django(scope, replay(body, receive), send)
            return
        request.resolver_match = match(route.path)
        response = await _answer(request, route, given, view_headers(route.view))
        await _send(response, send)

    return app


async def api_user(request: HttpRequest) -> Any:
    """Authenticate a lean request as DRF's view would (core.cross_origin.OriginCheckedSession):
    the origin rule for a write that carries cookies, then the session's user.

    The user is Django's get_user on the session SessionMiddleware's hook set up; without a
    session cookie there is nothing to read (AnonymousUser, no query), else it is read off the
    loop. It becomes `request.user`, which the log line names.
    """
    refuse_cross_site_cookie_write(request)
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        request.user = await off_loop(get_user)(request)
    else:
        request.user = get_user(request)
    return request.user


def accepts_json(accept: bytes | None) -> bool:
    """Whether an Accept header (None: absent) lets DRF answer JSON without weighing quality
    factors: absent, or naming */*, application/* or application/json without parameters."""
    if accept is None:
        return True
    if b";" in accept:  # quality factors: DRF's negotiation decides
        return False
    return any(media.strip().lower() in _ACCEPTS_JSON for media in accept.split(b","))


def header(scope: dict, name: bytes) -> bytes | None:
    """The value of the request header `name` (lower case), or None; the first if repeated."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value
    return None


async def _answer(
    request: HttpRequest, route: LeanRoute, given: Any, view_headers: dict[str, str]
) -> HttpResponse:
    started = time.perf_counter()
    with request_id_in_context(requestlog.request_id_of(request)) as request_id:
        middleware, response = loop_middleware(), None
        reached = []
        for layer in middleware:
            reached.append(layer)
            response = _before(layer, request)
            if response is not None:
                break
        if response is None:
            for layer in middleware:
                if hasattr(layer, "process_view"):
                    layer.process_view(request, route.view, (), {})
            response = await _answer_or_error(request, route, given)
            for header, value in view_headers.items():
                response[header] = value
        for layer in reversed(reached):
            response = _after(layer, request, response)
        requestlog.answered(request, response, request_id, started, requestlog.who(request))
    return response


async def _answer_or_error(request: HttpRequest, route: LeanRoute, given: Any) -> HttpResponse:
    try:
        return await route.answer(request, given)
    except Exception as exc:
        handled = api_exception_handler(exc, {"request": request})
        if handled is None:
            logger.error(
                "Internal Server Error: %s",
                request.path,
                exc_info=exc,
                extra={"status_code": 500, "request": request},
            )
            got_request_exception.send(sender=None, request=request)
            return handler500(request)
        return json_response(handled.data, handled.status_code, handled.items())


def _view_headers(view_class: type[APIView]) -> dict[str, str]:
    """The headers DRF's view adds to each of its answers, as a set-up view instance has them
    (Django's View.setup gives a view with `get` its `head`)."""
    view = view_class()
    view.setup(HttpRequest())
    return view.default_response_headers


def json_response(data: Any, status: int, headers: Any = ()) -> HttpResponse:
    """An answer rendered as DRF renders the API's (JSONRenderer), with extra `headers`."""
    response = HttpResponse(_JSON.render(data), status=status, content_type="application/json")
    for header, value in headers:
        if header.lower() != "content-type":
            response[header] = value
    return response


@functools.cache
def loop_middleware() -> list[Any]:
    """The LOOP_MIDDLEWARE settings.MIDDLEWARE lists, in its order, made once per process."""
    return [
        import_string(path)(_never_called)
        for path in settings.MIDDLEWARE
        if path in LOOP_MIDDLEWARE
    ]


def _never_called(request: HttpRequest) -> HttpResponse:  # pragma: no cover - a placeholder
    raise AssertionError("a lean answer's middleware never calls the next layer")


def _before(layer: Any, request: HttpRequest) -> HttpResponse | None:
    if isinstance(layer, HookMiddleware):
        return layer.before(request)
    hook = getattr(layer, "process_request", None)
    return None if hook is None else hook(request)


def _after(layer: Any, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if isinstance(layer, HookMiddleware):
        return layer.after(request, response)
    hook = getattr(layer, "process_response", None)
    return response if hook is None else hook(request, response)


def _within_body_limit(scope: dict) -> bool:
    length, limit = header(scope, b"content-length"), body_limit()
    if length is None:
        return True  # no body (a chunked one has a length by now: core.serving.framing)
    return length.isdigit() and (limit is None or int(length) <= limit)


async def _send(response: HttpResponse, send: Callable) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.items()
    ]
    headers += [
        (b"set-cookie", cookie.output(header="").strip().encode("latin-1"))
        for cookie in response.cookies.values()
    ]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
