"""Exactly-once handling of requests sent with an Idempotency-Key header.

The first request claims the key by inserting its row, runs, and stores its answer in that
row, all in one PostgreSQL transaction. A concurrent request with the same key blocks on the
unique index inside PostgreSQL until the first commits (then it replays the stored answer)
or rolls back (then it runs itself); `lock_timeout` bounds that wait to
IDEMPOTENCY_WAIT_SECONDS, after which it answers 409 IDEMPOTENCY_KEY_IN_USE. Redis, when
configured, caches finished answers as a fast path; every Redis error is ignored, so
correctness rests on PostgreSQL alone.
"""

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from reservations.models import IdempotencyKey
from stockd.errors import StockdError

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
KEY_LIFETIME = timedelta(hours=24)

OPENAPI_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Up to 255 characters. A retry with the same key and body gets the first "
    "answer again (header Idempotent-Replayed: true) without running again; the same key "
    "with another body gets 422.",
)


class InvalidIdempotencyKey(StockdError):
    code = "INVALID_IDEMPOTENCY_KEY"
    detail = f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."


class IdempotencyKeyReused(StockdError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = status.HTTP_422_UNPROCESSABLE_ENTITY
    detail = f"This {HEADER} was already used with a different request."


class IdempotencyKeyInUse(StockdError):
    code = "IDEMPOTENCY_KEY_IN_USE"
    status = status.HTTP_409_CONFLICT
    detail = f"A request with this {HEADER} is still running; retry shortly."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


def _fingerprint(request: Request, caller: str) -> str:
    """Hash what makes two requests "the same": method, path, caller and JSON body."""
    try:
        body = json.dumps(json.loads(request.body or b"null"), sort_keys=True)
    except ValueError:
        body = request.body.decode("utf-8", errors="replace")
    material = "\n".join([request.method, request.path, caller, body])
    return hashlib.sha256(material.encode()).hexdigest()


def _as_json(data: Any) -> Any:
    """Normalize a response body to plain JSON, so the first answer equals its replays."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _replay(status_code: int, body: Any) -> Response:
    return Response(body, status=status_code, headers={REPLAYED_HEADER: "true"})


# --- the Redis fast path (best effort) -------------------------------------------------------


def _cache_key(scope: str, key: str) -> str:
    return "idem:" + hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


def _cached_answer(scope: str, key: str) -> dict | None:
    try:
        return cache.get(_cache_key(scope, key))
    except Exception:
        logger.warning("idempotency cache unreachable; using PostgreSQL only", exc_info=True)
        return None


def _cache_answer(scope: str, key: str, answer: dict) -> None:
    try:
        cache.set(_cache_key(scope, key), answer, int(KEY_LIFETIME.total_seconds()))
    except Exception:
        logger.warning("idempotency cache unreachable; answer kept in PostgreSQL only")


# --- the PostgreSQL record (the source of truth) ---------------------------------------------


def _claim(scope: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key's row; return it, or None when another request holds the key.

    The INSERT waits inside PostgreSQL while a concurrent request's row is uncommitted, at
    most IDEMPOTENCY_WAIT_SECONDS (lock_timeout), then raises OperationalError.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{settings.IDEMPOTENCY_WAIT_SECONDS * 1000}ms"],
            )
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                scope=scope, key=key, fingerprint=fingerprint, created_at=now
            )
    except IntegrityError:
        return None
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    return record


def _stored(scope: str, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(scope=scope, key=key).first()


def _run_and_record(record: IdempotencyKey, run: Callable[[], Response]) -> Response:
    """Run the request and keep its answer in `record`.

    If it failed on bad input (or broke), raise _Abandon so the transaction, key included,
    is rolled back and a corrected retry with the same key can run.
    """
    try:
        response = run()
        response.data = _as_json(response.data)
    except StockdError as error:
        response = Response(_as_json(error.body()), status=error.status, headers=error.headers())
    if response.status_code >= 500 or response.status_code in (400, 401, 403, 415):
        raise _Abandon(response)
    record.response_status, record.response_body = response.status_code, response.data
    record.save(update_fields=["response_status", "response_body"])
    return response


class _Abandon(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _claim_or_replay(scope: str, key: str, fingerprint: str) -> IdempotencyKey | Response:
    """Claim the key, or answer with the stored response of the request that holds it."""
    record = _claim(scope, key, fingerprint)
    if record is not None:
        return record
    stored = _stored(scope, key)
    if stored is not None and stored.created_at < timezone.now() - KEY_LIFETIME:
        stored.delete()  # older than its lifetime: the key is free again
        record = _claim(scope, key, fingerprint)
        if record is not None:
            return record
        stored = _stored(scope, key)  # a concurrent retry claimed it first: share its answer
    return _replay_record(stored, fingerprint)


def run_once(*, scope: str, key: str, fingerprint: str, run: Callable[[], Response]) -> Response:
    """Run `run` at most once for (scope, key) and answer every retry with its first answer.

    Raise IdempotencyKeyReused if the key was used with another request, and
    IdempotencyKeyInUse if a request with the key is still running after the wait bound.
    """
    cached = _cached_answer(scope, key)
    if cached is not None:
        if cached["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        return _replay(cached["status"], cached["body"])
    try:
        with transaction.atomic():
            claimed = _claim_or_replay(scope, key, fingerprint)
            if isinstance(claimed, Response):
                return claimed
            response = _run_and_record(claimed, run)
            answer = {
                "fingerprint": fingerprint,
                "status": response.status_code,
                "body": response.data,
            }
            transaction.on_commit(functools.partial(_cache_answer, scope, key, answer))
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise IdempotencyKeyInUse() from None
        raise
    except _Abandon as abandoned:
        return abandoned.response
    return response


def _replay_record(record: IdempotencyKey | None, fingerprint: str) -> Response:
    if record is None or record.response_status is None:
        raise IdempotencyKeyInUse()
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return _replay(record.response_status, record.response_body)


def purge_expired_keys(*, now=None) -> int:
    """Delete keys older than 24 hours; return how many."""
    cutoff = (now or timezone.now()) - KEY_LIFETIME
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotent(scope: str) -> Callable:
    """Make a DRF view method exactly-once for requests that carry an Idempotency-Key."""

    def decorate(method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(method)
        def wrapper(view, request: Request, *args, **kwargs) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return method(view, request, *args, **kwargs)
            if not _valid_key(key):
                raise InvalidIdempotencyKey()
            caller = f"user:{request.user.pk}" if request.user.is_authenticated else "anonymous"
            return run_once(
                scope=f"{scope}|{caller}",
                key=key,
                fingerprint=_fingerprint(request, caller),
                run=lambda: method(view, request, *args, **kwargs),
            )

        return wrapper

    return decorate
