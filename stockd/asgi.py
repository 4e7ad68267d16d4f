"""ASGI entry point: stockd's whole app, as the Procfile's `web` process and `make run` serve it.

Three layers, each by public API:

- core.serving.framing reads a chunked request body and hands it on with its Content-Length,
  which Django needs to read it;
- core.serving.lean answers two routes' common cases on the event loop and hands every
  other request on: the reserve hot path (reservations.apis.lean_reserve: an unkeyed POST
  /api/reservations naming its warehouse, awaiting the hold coalescer) and the shared
  catalogue (inventory.lean_catalogue: GET /api/products from the cache);
- Django's own ASGIHandler answers the rest. Each request's sync steps (signals, sync
  middleware, sync views) run on a core.serving.request_threads.ConnectionReleasingExecutor,
  given to asgiref's ThreadSensitiveContext (an outer context with an executor is the one
  Django's handler runs in): after each sync step that thread gives its pooled database
  connection back, so a request waiting for the event loop between two steps holds no
  connection other requests need. The live stock stream (STREAM_PATH) shares one such
  thread: a stream lasts hours, and a thread each would cost 69 KiB instead of 35 KiB per
  stream (docs/performance.md); it does no database work in its request (the hub reads on a
  thread of its own). Every other request has a thread of its own, as under Django.
"""

import os

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
django.setup(set_prefix=False)

from core.serving.framing import frame_asgi  # noqa: E402 (needs the settings above)
from core.serving.lean import in_front_of  # noqa: E402
from core.serving.request_threads import ConnectionReleasingExecutor  # noqa: E402
from inventory.lean_catalogue import LeanCatalogue  # noqa: E402
from reservations.apis.lean_reserve import LeanReserve  # noqa: E402

STREAM_PATH = "/events/"
# The one thread the streams' few sync steps share.
_STREAM_THREAD = ConnectionReleasingExecutor("stockd-streams")
_django = ASGIHandler()


async def django_on_request_threads(scope: dict, receive, send) -> None:
    """Django's handler, each request's sync steps on a connection-releasing thread."""
    if scope["type"] != "http":
        await _django(scope, receive, send)  # lifespan and websockets: Django's own answer
        return
    if scope["path"].startswith(STREAM_PATH):
        async with ThreadSensitiveContext(executor=_STREAM_THREAD):
            await _django(scope, receive, send)
        return
    thread = ConnectionReleasingExecutor("stockd-request")
    try:
        async with ThreadSensitiveContext(executor=thread):
            await _django(scope, receive, send)
    finally:
        thread.shutdown(wait=False)  # its last step has run; the thread ends by itself


application = frame_asgi(in_front_of(django_on_request_threads, [LeanReserve(), LeanCatalogue()]))
