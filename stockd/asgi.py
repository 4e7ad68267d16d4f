"""ASGI entry point: stockd's whole app, as the Procfile's `web` process and `make run` serve it.

Django's ASGIHandler runs each request's sync code (signals, sync middleware, sync views) on
a thread of the request's own, for as long as the request lasts. Here that thread is a
core.serving.request_threads.ConnectionReleasingExecutor: after each sync step it gives its pooled
database connection back, so a request waiting for the event loop between two steps holds
no connection other requests need. Two kinds of request share one such thread instead of
starting a thread each:

- the live stock stream (STREAM_PATH): an open stream lasts hours, and a thread each would
  cost 69 KiB instead of 35 KiB per stream (docs/performance.md); it does no database work
  in its request (the hub reads on a thread of its own);
- POST to the reserve hot path (core.serving.asyncviews.ASYNC_HOT_PATHS): its view awaits the hold
  coalescer on the event loop, and starting and joining a thread per request was about 40%
  of the loop's time; its middleware hooks run on the loop too (run_middleware_hooks_on_loop).
  What of it blocks (DRF's checks, whose rate limit reads the cache, and routed holds, which
  may wait on row locks) runs on a pool of its own (core.serving.request_threads.off_loop), never on
  this shared thread or the loop.

Every other request has a thread of its own, as under Django's ASGIHandler.

In front of it all, core.serving.framing reads a chunked request body and hands it on with its
Content-Length, which Django needs to read it.
"""

import os

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
django.setup(set_prefix=False)

from core.serving.asyncviews import (  # noqa: E402 (needs the settings above)
    ASYNC_HOT_PATHS,
    HOOKS_ON_LOOP,
    is_async_post,
    run_middleware_hooks_on_loop,
    view_hooks_on_loop,
)
from core.serving.framing import frame_asgi  # noqa: E402
from core.serving.request_threads import ConnectionReleasingExecutor  # noqa: E402
from reservations import coalescer  # noqa: E402

STREAM_PATH = "/events/"
# The one thread the stream's and the hot POST's few sync steps share.
_SHARED_THREAD = ConnectionReleasingExecutor("stockd-shared")


def _is_hot(scope: dict) -> bool:
    keyed = any(name.lower() == b"idempotency-key" for name, _ in scope["headers"])
    return scope["path"] in ASYNC_HOT_PATHS and is_async_post(scope["method"], keyed=keyed)


class StockdASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async)
        self._view_middleware = view_hooks_on_loop(self._view_middleware)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # Django's own refusal
            return
        hot = _is_hot(scope)
        if hot:
            coalescer.get().use_running_loop()  # the server's loop outlives every request
        if hot or scope["path"].startswith(STREAM_PATH):
            async with ThreadSensitiveContext(executor=_SHARED_THREAD):
                await self.handle(scope, receive, send)
            return
        thread = ConnectionReleasingExecutor("stockd-request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            thread.shutdown(wait=False)  # its last step has run; the thread ends by itself

    def create_request(self, scope, body_file):
        request, error_response = super().create_request(scope, body_file)
        if request is not None and _is_hot(scope):
            setattr(request, HOOKS_ON_LOOP, True)
        return request, error_response


run_middleware_hooks_on_loop()


application = frame_asgi(StockdASGIHandler())
