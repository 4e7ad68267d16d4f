"""Refuse requests Django cannot read before any middleware or view tries to read them."""

import io
import json
from collections.abc import Callable
from http import HTTPStatus

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream, WSGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import parse_header_parameters
from whitenoise.middleware import WhiteNoiseMiddleware


def _refusal(request: HttpRequest, status: HTTPStatus, code: str, error: str) -> HttpResponse:
    """Answer `status` with {"error", "code"} under /api/, a plain text page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": error, "code": code}, status=status)
    return HttpResponse(error, status=status, content_type="text/plain; charset=utf-8")


def _unreadable_charset(content_type: str) -> str | None:
    """Return the charset named in `content_type` if it is not a text encoding, else None."""
    charset = parse_header_parameters(content_type)[1].get("charset")
    return None if charset is None or _is_text_encoding(charset) else charset


def _charset_error(charset: str) -> str:
    return f'Unsupported charset "{charset}" in the Content-Type header.'


def refuse_unreadable_charsets(application: Callable) -> Callable:
    """Wrap a WSGI `application` to answer 400 to a Content-Type charset Django can't decode.

    Django's WSGIRequest decodes a non-empty query string with that charset while it is being
    built, before any middleware runs, so only a wrapper around the handler can refuse it.
    """

    def guarded(environ: dict, start_response: Callable):
        charset = _unreadable_charset(environ.get("CONTENT_TYPE", ""))
        if charset is None:
            return application(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/api/"):
            body = json.dumps({"error": _charset_error(charset), "code": "UNSUPPORTED_CHARSET"})
            content_type = "application/json"
        else:
            body, content_type = _charset_error(charset), "text/plain; charset=utf-8"
        data = body.encode()
        start_response(
            "400 Bad Request",
            [("Content-Type", content_type), ("Content-Length", str(len(data)))],
        )
        return [data]

    return guarded


def _is_text_encoding(charset: str) -> bool:
    # codecs.lookup() also resolves str-to-str and bytes-to-bytes codecs (rot13, bz2_codec),
    # which Django accepts and then fails on with LookupError; str.encode() refuses them.
    try:
        "".encode(charset)
    except (LookupError, UnicodeError, ValueError):
        return False
    return True


def _field_limit() -> float:
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return float("inf") if limit is None else limit


def _declares_too_large_a_body(request: HttpRequest) -> bool:
    """Whether the Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE (uploads are exempt:
    Django streams their files to disk, as it does)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
        return False
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False


def _is_chunked_without_length(request: HttpRequest) -> bool:
    return "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH")


class HookMiddleware:
    """A middleware made of two sync hooks that do no I/O, run in the server's own mode.

    Under ASGI the hooks run on the event loop, so the middleware costs no thread hop (a
    sync-only middleware would run everything below it, the view included, on a thread).
    `before(request)` may answer instead of the view; `after(request, response)` may change
    or replace the answer.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        answer = self.before(request)
        return answer if answer is not None else self.after(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        answer = self.before(request)
        if answer is not None:
            return answer
        return self.after(request, await self.get_response(request))

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class StaticFilesMiddleware(HookMiddleware):
    """WhiteNoise's static file serving, without making the rest of the chain sync.

    WhiteNoiseMiddleware is sync only; under ASGI it would put every request below it on a
    thread. Only requests for static files reach it here (and it reads no database).
    """

    def __init__(self, get_response: Callable) -> None:
        super().__init__(get_response)
        self.whitenoise = WhiteNoiseMiddleware(get_response=None)

    def before(self, request: HttpRequest) -> HttpResponse | None:
        whitenoise, path = self.whitenoise, request.path_info
        static_file = (
            whitenoise.find_file(path) if whitenoise.autorefresh else whitenoise.files.get(path)
        )
        return None if static_file is None else whitenoise.serve(static_file, request)


class RequestFramingMiddleware(HookMiddleware):
    """Refuse an unknown Content-Type charset with 400; read or refuse a chunked body.

    Django decodes the query string and form bodies with the request's charset and raises
    LookupError (a 500) on a codec that is not a text encoding (a query string fails even
    earlier; see refuse_unreadable_charsets). A body sent with
    Transfer-Encoding: chunked has no Content-Length, so Django's WSGIRequest reads it as
    empty; when the server says its input ends where the body ends (gunicorn sets
    wsgi.input_terminated), read it here, up to DATA_UPLOAD_MAX_MEMORY_SIZE (413 past it),
    otherwise answer 411. ASGI requests arrive with their whole body and are left alone.
    """

    def before(self, request: HttpRequest) -> HttpResponse | None:
        charset = _unreadable_charset(request.META.get("CONTENT_TYPE", ""))
        if charset is not None:
            return _refusal(
                request, HTTPStatus.BAD_REQUEST, "UNSUPPORTED_CHARSET", _charset_error(charset)
            )
        if isinstance(request, WSGIRequest) and _is_chunked_without_length(request):
            refusal = self._read_chunked_body(request)
            if refusal is not None:
                return refusal
        if request.META.get("QUERY_STRING", "").count("&") >= _field_limit():
            # Parse it now, so TooManyFieldsSent is raised here (Django answers it with
            # handler400) and not inside DRF's content negotiation, which turns it into a 500.
            request.GET  # noqa: B018
        if _declares_too_large_a_body(request):
            # Django checks the limit only when request.body is read, and DRF streams a JSON
            # body past it; refuse it up front. Django answers with handler400: a 413.
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        return None

    def _read_chunked_body(self, request: WSGIRequest) -> HttpResponse | None:
        """Buffer a de-chunked body and give Django its length; return a refusal if we can't."""
        if not request.environ.get("wsgi.input_terminated"):
            return _refusal(
                request,
                HTTPStatus.LENGTH_REQUIRED,
                "LENGTH_REQUIRED",
                "Send the body with a Content-Length header; this server cannot read a "
                "chunked body.",
            )
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = request.environ["wsgi.input"].read(-1 if limit is None else limit + 1)
        if limit is not None and len(body) > limit:
            return _refusal(
                request,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                f"The request body is larger than {limit} bytes.",
            )
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))
        return None
