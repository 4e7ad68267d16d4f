"""The record of Idempotency-Keys: run a request once, answer its retries with its answer.

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
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from core.errors import StockdError
from idempotency.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from idempotency.models import IdempotencyKey

logger = logging.getLogger(__name__)

REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
# Answers that say the request was not acted on: the key is not kept, so a corrected retry
# with the same key runs.
_NOT_ACTED_ON = {400, 401, 403, 415}


def _as_json(data: Any) -> Any:
    """Normalize a response body to plain JSON, so the first answer equals its replays."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _replay(status_code: int, body: Any) -> Response:
    return Response(body, status=status_code, headers={REPLAYED_HEADER: "true"})


# --- the Redis fast path (best effort) -------------------------------------------------------


def _cache_key(scope: str, key: str) -> str:
    return "idem:" + hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


def cached_answer(*, scope: str, key: str) -> dict | None:
    """Return the cached answer {fingerprint, status, body} of (scope, key), or None.

    None too when the cache is unreachable: correctness never depends on it.
    """
    try:
        return cache.get(_cache_key(scope, key))
    except Exception:
        logger.warning("idempotency cache unreachable; using PostgreSQL only", exc_info=True)
        return None


def forget_cached_answer(*, scope: str, key: str) -> None:
    """Drop the cached answer of (scope, key), as its expiry would; PostgreSQL keeps its record.

    Ignore an unreachable cache, as every cache call here does.
    """
    try:
        cache.delete(_cache_key(scope, key))
    except Exception:
        logger.warning("idempotency cache unreachable; nothing to forget", exc_info=True)


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
    if response.status_code >= 500 or response.status_code in _NOT_ACTED_ON:
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
    cached = cached_answer(scope=scope, key=key)
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
