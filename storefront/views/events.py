"""`GET /events/stock/`: Server-Sent Events, one message per stock row that changed.

Each message is `{productId, warehouseId, totalStock, reservedStock, available, eventId}`
with the SSE id set to its position in the stock ledger (`eventId`, `<txid>-<entry id>`), so a
browser that reconnects sends `Last-Event-ID` and resumes where it was. A first connection may
say where to start with `?lastEventId=`; with neither (or one that is not a position, such as
an event id of the stream before the ledger), the stream starts at the newest change.
`?product=<id>` keeps one product's rows, and adds a `sale` event (no SSE id) when the stream
opens and whenever that product's sale opens, ends or is moved (storefront.live.sales), so
the product page turns to "Reserve" at the start with no reload. Products with no sale
window get none. Likewise a `preorder` event says its rows' preorder places, eta and state
when the stream opens and when they change (storefront.live.preorders), so "N preorder places
left" counts down; products without preorder terms get none.

Under ASGI the view is async and the stream is an async generator fed by the process's
StockHub: an open stream holds no thread and no database connection. A WSGI server would give
each open stream one of the threads that serve reservations, so there the view answers 503
(the `stream` process serves /events/, docs/operations.md), unless DEBUG is on: then it
polls on the request's own thread, which is fine for `manage.py runserver`.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.errors import InvalidId
from core.ids import parse_int_id
from integrations.feed import Cursor
from reservations import metrics
from storefront.live import feed, hub, preorders, sales
from storefront.live.feed import StockChange
from storefront.live.preorders import PreorderWatch
from storefront.live.sales import SaleWatch
from storefront.preorders import boxes_of_product

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000  # how long a browser waits before reconnecting


@require_GET
async def stock_events(request: HttpRequest) -> HttpResponse:
    """Stream stock changes as Server-Sent Events until the client goes away.

    Answer 400 for a malformed `?product=` (a malformed Last-Event-ID starts from now), and
    503 on a WSGI server with DEBUG off.
    """
    product_id = None
    if "product" in request.GET:
        try:
            product_id = parse_int_id(request.GET["product"], name="product")
        except InvalidId as error:
            return JsonResponse(error.body(), status=error.status)
    start = Cursor.parse(request.headers.get("Last-Event-ID", ""))
    if start is None:
        start = Cursor.parse(request.GET.get("lastEventId", ""))
    if isinstance(request, ASGIRequest):
        stock_hub = hub.hub_for_this_loop()
        if start is None:
            # Fixed before the headers go out: a client that saw the stream open has every
            # change made after that.
            start = await stock_hub.latest_position()
        stream = _stream(stock_hub, start=start, product_id=product_id)
    elif not settings.DEBUG:
        return JsonResponse(
            {
                "error": "Live stock is served by the stream process (ASGI), not this one.",
                "code": "STREAM_NOT_SERVED_HERE",
            },
            status=503,
            headers={"Retry-After": "60"},
        )
    else:
        if start is None:
            start = await sync_to_async(feed.latest_position)()
        stream = _stream_on_this_thread(start=start, product_id=product_id)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each message on at once
    return response


async def _stream(
    stock_hub: hub.StockHub, *, start: Cursor, product_id: int | None
) -> AsyncIterator[bytes]:
    """Yield the preamble, a resuming client's catch-up, then each batch the hub hands out.

    A heartbeat comment goes out after HEARTBEAT_SECONDS of silence. A product's stream also
    wakes to say its sale's changes on time and to read its preorder places again. When the
    client goes, the ASGI handler cancels the wait and the subscription is dropped.
    """
    subscription = stock_hub.subscribe(start=start, product_id=product_id)
    watch = None if product_id is None else SaleWatch(product_id)
    places = None if product_id is None else PreorderWatch(product_id)
    sent = start
    metrics.live_stream_opened()
    try:
        yield _preamble(start)
        text, sent = _messages(await stock_hub.catch_up(subscription), sent)
        if text:
            yield text
        quiet_since = time.monotonic()
        while True:
            wait = HEARTBEAT_SECONDS - (time.monotonic() - quiet_since)
            if watch is not None and places is not None:
                window = await stock_hub.sale_windows.of(watch.product_id)
                if news := watch.news(window, timezone.now()):
                    yield news
                    quiet_since = time.monotonic()
                wait = watch.seconds_to_wait(timezone.now(), at_most=wait)
                if news := places.news(await stock_hub.preorder_places.of(places.product_id)):
                    yield news
                    quiet_since = time.monotonic()
                wait = places.seconds_to_wait(at_most=wait)
            try:
                batch = await asyncio.wait_for(subscription.queue.get(), max(0.0, wait))
            except TimeoutError:
                if watch is not None and watch.due(timezone.now()):
                    continue  # the sale opens or ends now: say so first
                if time.monotonic() - quiet_since < HEARTBEAT_SECONDS:
                    continue  # woke to read the preorder places again
                # Nothing is queued: every change up to the hub's cursor has gone out.
                cursor = stock_hub.cursor or sent
                yield _heartbeat(cursor if cursor > sent else None)
                sent = max(sent, cursor)
                quiet_since = time.monotonic()
                continue
            if isinstance(batch, hub.Overflow):
                return
            text, sent = _messages(batch, sent)
            yield text
            quiet_since = time.monotonic()
    finally:
        stock_hub.unsubscribe(subscription)
        metrics.live_stream_closed()


def _stream_on_this_thread(*, start: Cursor, product_id: int | None) -> Iterator[bytes]:
    """Poll the feed on the request's own thread: the WSGI stand-in for the hub.

    A client that went away is noticed at the next write (a heartbeat at the latest).
    """
    cursor = sent = start
    quiet_since = time.monotonic()
    watch = None if product_id is None else SaleWatch(product_id)
    places = None if product_id is None else PreorderWatch(product_id)
    window, window_read_at = None, -sales.REFRESH_SECONDS
    boxes_read_at = -preorders.REFRESH_SECONDS
    metrics.live_stream_opened()
    try:
        yield _preamble(start)
        while True:
            if watch is not None and places is not None:
                if time.monotonic() - window_read_at >= sales.REFRESH_SECONDS:
                    window, window_read_at = sales.read_window(product_id), time.monotonic()
                if news := watch.news(window, timezone.now()):
                    yield news
                if time.monotonic() - boxes_read_at >= preorders.REFRESH_SECONDS:
                    boxes, boxes_read_at = boxes_of_product(product_id), time.monotonic()
                    if news := places.news(boxes):
                        yield news
            read = feed.read_changes(cursor)
            cursor = read.cursor
            wanted = [c for c in read.changes if product_id is None or c.product_id == product_id]
            if wanted:
                text, sent = _messages(wanted, sent)
                yield text
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
                yield _heartbeat(cursor if cursor > sent else None)
                sent = max(sent, cursor)
                quiet_since = time.monotonic()
            if not read.full:
                time.sleep(hub.POLL_SECONDS)
    finally:
        metrics.live_stream_closed()


def _preamble(start: Cursor) -> bytes:
    # An id with no data sets the browser's Last-Event-ID without firing an event, so a
    # reconnect before the first change still resumes from here.
    return f"retry: {RETRY_MILLISECONDS}\nid: {start}\n\n".encode()


def _heartbeat(cursor: Cursor | None) -> bytes:
    return (": heartbeat\n" + (f"id: {cursor}\n" if cursor is not None else "") + "\n").encode()


def _messages(changes: list[StockChange], sent: Cursor) -> tuple[bytes, Cursor]:
    """Format changes as SSE messages; the SSE id never goes back."""
    parts = []
    for change in changes:
        sent = max(sent, change.position)
        data = json.dumps(change.as_message(), separators=(",", ":"))
        parts.append(f"id: {sent}\ndata: {data}\n\n")
    return "".join(parts).encode(), sent
