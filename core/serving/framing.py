"""Wrappers around the WSGI and ASGI applications: frame what Django cannot read by itself.

Two things happen before Django builds its request, so no middleware can do them:

- A body sent with `Transfer-Encoding: chunked` has no Content-Length. Django and DRF read
  such a body as empty, so a chunked JSON reserve would be refused as missing its fields.
  Both wrappers buffer the de-chunked body (up to DATA_UPLOAD_MAX_MEMORY_SIZE, 413 past it)
  and hand it on with its Content-Length. Under WSGI only a server that ends the input where
  the body ends (gunicorn sets `wsgi.input_terminated`) can be read; other requests reach
  core.serving.middleware.RequestFramingMiddleware, which answers 411.
- Django's WSGIRequest decodes a non-empty query string with the Content-Type's charset
  while it is being built; a charset that is not a text encoding is answered 400 here.
  (ASGIRequest decodes the query string lazily, so the middleware answers it there.)
"""

import io
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from django.conf import settings
from django.utils.http import parse_header_parameters

EarlyAnswer = tuple[HTTPStatus, str, bytes]  # status, content type, body


def early_answer(path: str, status: HTTPStatus, code: str, error: str) -> EarlyAnswer:
    """Build an early answer (to a request refused before Django reads it): {"error", "code"}
    JSON under /api/, a plain text page elsewhere."""
    if path.startswith("/api/"):
        return status, "application/json", json.dumps({"error": error, "code": code}).encode()
    return status, "text/plain; charset=utf-8", error.encode()


def unreadable_charset(content_type: str) -> str | None:
    """Return the charset named in `content_type` if it is not a text encoding, else None."""
    charset = parse_header_parameters(content_type)[1].get("charset")
    return None if charset is None or _is_text_encoding(charset) else charset


def bad_charset_answer(path: str, charset: str) -> EarlyAnswer:
    error = f'Unsupported charset "{charset}" in the Content-Type header.'
    return early_answer(path, HTTPStatus.BAD_REQUEST, "UNSUPPORTED_CHARSET", error)


def length_required(path: str) -> EarlyAnswer:
    error = "Send the body with a Content-Length header; this server cannot read a chunked body."
    return early_answer(path, HTTPStatus.LENGTH_REQUIRED, "LENGTH_REQUIRED", error)


def _too_large(path: str, limit: int) -> EarlyAnswer:
    error = f"The request body is larger than {limit} bytes."
    return early_answer(path, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PAYLOAD_TOO_LARGE", error)


def _is_text_encoding(charset: str) -> bool:
    # codecs.lookup() also resolves str-to-str and bytes-to-bytes codecs (rot13, bz2_codec),
    # which Django accepts and then fails on with LookupError; str.encode() refuses them.
    try:
        "".encode(charset)
    except (LookupError, UnicodeError, ValueError):
        return False
    return True


def body_limit() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- WSGI -------------------------------------------------------------------------------------


def frame_wsgi(application: Callable) -> Callable:
    """Wrap a WSGI `application`: refuse unreadable charsets, give chunked bodies a length."""

    def framed(environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO", "")
        charset = unreadable_charset(environ.get("CONTENT_TYPE", ""))
        answer = bad_charset_answer(path, charset) if charset is not None else None
        if answer is None and _wsgi_chunked(environ) and environ.get("wsgi.input_terminated"):
            answer = _buffer_wsgi_body(environ, path)
        if answer is None:
            return application(environ, start_response)
        status, content_type, body = answer
        start_response(
            f"{status.value} {status.phrase}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]

    return framed


def _wsgi_chunked(environ: dict) -> bool:
    return "HTTP_TRANSFER_ENCODING" in environ and not environ.get("CONTENT_LENGTH")


def _buffer_wsgi_body(environ: dict, path: str) -> EarlyAnswer | None:
    limit = body_limit()
    body = environ["wsgi.input"].read(-1 if limit is None else limit + 1)
    if limit is not None and len(body) > limit:
        return _too_large(path, limit)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    del environ["HTTP_TRANSFER_ENCODING"]
    return None


# --- ASGI -------------------------------------------------------------------------------------

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def frame_asgi(application: Callable) -> Callable:
    """Wrap an ASGI `application`: a chunked request body reaches it with a Content-Length."""

    async def framed(scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _asgi_chunked(scope["headers"]):
            await application(scope, receive, send)
            return
        limit = body_limit()
        try:
            body = await read_asgi_body(receive, limit)
        except BodyTooLarge:
            await _send_early_answer(send, _too_large(scope["path"], limit))
            return
        if body is None:  # the client left
            return
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name.lower() not in (b"transfer-encoding", b"content-length")
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        await application({**scope, "headers": headers}, replay(body, receive), send)

    return framed


def _asgi_chunked(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return b"transfer-encoding" in names and b"content-length" not in names


class BodyTooLarge(Exception):
    pass


async def read_asgi_body(receive: Receive, limit: int | None) -> bytes | None:
    """Read the whole body; None if the client left. Past `limit`, raise BodyTooLarge."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that gives the buffered body once, then the client's further messages."""
    sent = False

    async def replayed() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _send_early_answer(send: Send, answer: EarlyAnswer) -> None:
    status, content_type, body = answer
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status.value, "headers": headers})
    await send({"type": "http.response.body", "body": body})
