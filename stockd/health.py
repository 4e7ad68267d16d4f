"""Liveness and readiness probes for load balancers and orchestrators."""

import logging
import threading

from django.core.cache import cache
from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from core.serving.replicas import REPLICA, replica_configured

logger = logging.getLogger(__name__)

# A replica that does not answer within this bound counts as down: a blackholed host would
# otherwise hold the probe for the pool's or the connect timeout.
REPLICA_CHECK_TIMEOUT_SECONDS = 2.0


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 while the process serves requests."""
    return JsonResponse({"status": "ok"})


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("readiness: database unreachable")
        return False


def _replica_answers() -> bool:
    answered: list[bool] = []

    def probe() -> None:
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT 1")
            answered.append(True)
        except Exception:
            logger.exception("readiness: read replica unreachable")
        finally:
            connections[REPLICA].close()  # this thread's own connection

    thread = threading.Thread(target=probe, name="readyz-replica", daemon=True)
    thread.start()
    thread.join(REPLICA_CHECK_TIMEOUT_SECONDS)
    if thread.is_alive():
        logger.error("readiness: read replica silent for %ss", REPLICA_CHECK_TIMEOUT_SECONDS)
    return bool(answered)


def _cache_answers() -> bool:
    try:
        cache.set("readyz", "1", 5)
        return cache.get("readyz") == "1"
    except Exception:
        logger.exception("readiness: cache unreachable")
        return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database, the read replica (if configured) and the cache answer,
    503 naming the one that does not."""
    checks = {"database": _database_answers(), "cache": _cache_answers()}
    if replica_configured():
        checks["replica"] = _replica_answers()
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
