"""An API view whose POST may await on the event loop, everything else staying DRF's sync path.

DRF runs sync views only. The reserve hot path awaits the hold coalescer instead of holding a
thread per request, so its view class defines `apost` beside the usual handlers. The routed
view is async: a POST without an Idempotency-Key runs DRF's request cycle here, on the loop,
with `apost` as its handler (negotiation, authentication and its CSRF check, permissions,
throttles and the one exception handler are DRF's own, so its answers and errors are the
rest of the API's); every other request (reads, keyed requests, which run inside their own
transaction) runs the ordinary sync view, on the request's thread.

Under ASGI a POST to ASYNC_HOT_PATHS also skips Django's per-request thread context, and its
middleware hooks run on the loop (stockd.asgi), so nothing hands it to a thread. Under WSGI
the same view works: Django runs it through async_to_sync.
"""

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serving.request_threads import off_loop

# POST to these paths runs on the event loop (stockd.asgi gives it no thread of its own).
ASYNC_HOT_PATHS = frozenset({"/api/reservations"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Set on a hot-path request by stockd.asgi: its MiddlewareMixin hooks run on the loop.
HOOKS_ON_LOOP = "stockd_hooks_on_loop"


def run_middleware_hooks_on_loop() -> None:
    """Let Django's MiddlewareMixin middleware run a hot-path request's hooks on the loop.

    Under ASGI, MiddlewareMixin hands each process_request/process_response call to a
    thread; on the reserve hot path that is a dozen thread hops per request. Those hooks
    (security and CSP headers, the lazy session and user, CSRF, messages, clickjacking,
    metrics) do no I/O for it: the session is read by `request.auser()`, and nothing there
    modifies it. Requests not marked with HOOKS_ON_LOOP are handled as Django handles them.
    """
    handed_to_threads = MiddlewareMixin.__acall__
    if getattr(handed_to_threads, "stockd_hooks_on_loop", False):
        return

    async def __acall__(self, request):
        if not getattr(request, HOOKS_ON_LOOP, False):
            return await handed_to_threads(self, request)
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response

    __acall__.stockd_hooks_on_loop = True
    MiddlewareMixin.__acall__ = __acall__


def view_hooks_on_loop(hooks: list[Callable]) -> list[Callable]:
    """Wrap a handler's process_view hooks so a marked request calls the sync ones directly.

    Django's async handler wraps each sync process_view (CSRF's, metrics') in sync_to_async
    when it loads the middleware; for a request marked with HOOKS_ON_LOOP the wrapped sync
    method is called on the loop instead. Async hooks and other requests are left alone.
    """
    return [_on_loop_when_marked(hook) for hook in hooks]


def _on_loop_when_marked(hook: Callable) -> Callable:
    sync_method = getattr(hook, "func", None)  # what sync_to_async wrapped, if it did
    if sync_method is None:
        return hook

    async def view_hook(request: HttpRequest, *args: Any) -> HttpResponse | None:
        if getattr(request, HOOKS_ON_LOOP, False):
            return sync_method(request, *args)
        return await hook(request, *args)

    return view_hook


def is_async_post(method: str, *, keyed: bool) -> bool:
    """Say whether a request runs `apost` on the loop (else the sync view on a thread).

    A POST without an Idempotency-Key, while HOLD_COALESCING is on: a keyed request runs in
    its own transaction, which no batch can join.
    """
    return method == "POST" and not keyed and settings.HOLD_COALESCING


class CoalescingApiView(APIView):
    """An APIView with `async def apost(request)` for POSTs without an Idempotency-Key."""

    async def apost(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable:
        sync_view = super().as_view(**initkwargs)
        run_sync_view = sync_to_async(sync_view)

        async def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if is_async_post(request.method, keyed=IDEMPOTENCY_HEADER in request.headers):
                return await cls(**initkwargs).dispatch_async(request, *args, **kwargs)
            return await run_sync_view(request, *args, **kwargs)

        functools.update_wrapper(view, sync_view)
        markcoroutinefunction(view)
        return csrf_exempt(view)  # as DRF's views: SessionAuthentication checks CSRF itself

    async def dispatch_async(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """APIView.dispatch with `apost` awaited: DRF's request cycle, on the event loop."""
        # Resolve the user now: DRF's SessionAuthentication reads it synchronously.
        request.user = await request.auser()
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            # DRF's checks block (the rate limit reads the cache): never on the loop.
            await off_loop(self.initial)(drf_request, *args, **kwargs)
            response = await self.apost(drf_request)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(drf_request, response, *args, **kwargs)
        return _rendered(self.response)


def _rendered(response: Response) -> HttpResponse:
    """Render a DRF response into a plain HttpResponse, here on the loop.

    Django's async handler would render a response that still has a sync `render` on a
    thread; a plain HttpResponse is sent as it is.
    """
    response.render()
    plain = HttpResponse(response.content, status=response.status_code)
    for header, value in response.items():
        plain[header] = value
    plain.cookies = response.cookies
    return plain
