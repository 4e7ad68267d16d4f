"""The DRF side of Idempotency-Keys: a view method decorator and its OpenAPI parameter."""

import functools
import hashlib
import json
from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from core.parsers import refuse_duplicate_keys
from idempotency.context import idempotency_key_in_context
from idempotency.errors import (
    HEADER,
    MAX_KEY_LENGTH,
    IdempotencyKeyRequired,
    InvalidIdempotencyKey,
)
from idempotency.store import run_once

OPENAPI_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Up to 255 characters. A retry with the same key and body gets the first "
    "answer again (header Idempotent-Replayed: true) without running again; the same key "
    "with another body gets 422.",
)


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


def _fingerprint(request: Request, caller: str) -> str:
    """Hash what makes two requests "the same": method, path, caller and JSON body."""
    try:
        parsed = json.loads(request.body or b"null", object_pairs_hook=refuse_duplicate_keys)
        body = json.dumps(parsed, sort_keys=True)
    except (ValueError, RecursionError):  # not JSON, repeated keys, too deep: hash it as sent
        body = request.body.decode("utf-8", errors="replace")
    material = "\n".join([request.method, request.path, caller, body])
    return hashlib.sha256(material.encode()).hexdigest()


REQUIRED_OPENAPI_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="Required (428 IDEMPOTENCY_KEY_REQUIRED without it); up to 255 characters. A "
    "retry with the same key and body gets the first answer again (header Idempotent-Replayed: "
    "true) without running again; the same key with another body gets 422.",
)


def idempotent(scope: str, *, required: bool = False) -> Callable:
    """Make a DRF view method exactly-once for requests that carry an Idempotency-Key; with
    `required`, refuse requests without one (428)."""

    def decorate(method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(method)
        def wrapper(view, request: Request, *args, **kwargs) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    raise IdempotencyKeyRequired()
                return method(view, request, *args, **kwargs)
            if not _valid_key(key):
                raise InvalidIdempotencyKey()
            caller = f"user:{request.user.pk}" if request.user.is_authenticated else "anonymous"
            with idempotency_key_in_context(key):
                return run_once(
                    scope=f"{scope}|{caller}",
                    key=key,
                    fingerprint=_fingerprint(request, caller),
                    run=lambda: method(view, request, *args, **kwargs),
                )

        return wrapper

    return decorate
