"""ASGI entry point of the `stream` process (Procfile) and of `make run`: stockd's ASGI app.

Django's ASGIHandler runs each request in a ThreadSensitiveContext, which gives the request a
thread of its own for its sync code (signals, sync middleware) for as long as the request
lasts. For an event stream that is hours: one idle thread per open stream. Requests under
STREAM_PATH skip that context, so their few sync calls share the process's one sync thread;
a stream does no database work in its request (the hub reads on a thread of its own).
Measured in docs/performance.md: 35 KiB and no thread per open stream, instead of 69 KiB and
one thread. Every other request is handled exactly as `stockd.asgi` handles it.
"""

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
django.setup(set_prefix=False)

STREAM_PATH = "/events/"


class StreamingASGIHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(STREAM_PATH):
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


application = StreamingASGIHandler()
