"""The reserve rate limit: at most RESERVE_RATE_LIMIT holding requests per client.

One budget per client covers POST /api/reservations and POST /api/reservations/batch (a cart
is one request), and the storefront's forms that hold stock (`seconds_to_wait`): the
signed-in user's, else the client IP's by DRF's rule (X-Forwarded-For is
read only behind TRUSTED_PROXIES proxies, so a client cannot name itself a new address).
Reading holds (GET) is not counted. DRF keeps each client's recent requests in the shared
cache (Redis) as a sliding window; over the limit the request answers 429 RATE_LIMITED with
Retry-After before the view runs, so it writes nothing. An empty RESERVE_RATE_LIMIT limits
nothing. An unreachable cache is logged and limits nothing: a shopper never gets a 500 for it.
"""

import logging
import math

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.rates import parse_rate

logger = logging.getLogger(__name__)


class ReserveRateThrottle(SimpleRateThrottle):
    """Limit a client's POSTs to the reserve and batch endpoints to RESERVE_RATE_LIMIT."""

    scope = "reserve"

    def get_rate(self) -> str | None:
        # Read per request (DRF builds a throttle per request), so override_settings applies.
        return settings.RESERVE_RATE_LIMIT or None

    @classmethod
    def limits_anything(cls) -> bool:
        """Whether a RESERVE_RATE_LIMIT is set (without one, nothing needs the cache)."""
        return bool(settings.RESERVE_RATE_LIMIT)

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        """Accept "60/m" as DRF does, and a multiplied period such as "100/5m"."""
        parsed = parse_rate(rate)
        return (None, None) if parsed is None else tuple(parsed)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if request.method != "POST":
            return None
        if request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning(
                "reserve rate limit not applied: the cache is unreachable", exc_info=True
            )
            return True

    def wait(self) -> float:
        """Return the seconds until the oldest request that fills the window leaves it.

        DRF's own estimate spreads the window over the requests left, and gives none at all
        when concurrent requests overfilled the log; a 429 must always carry Retry-After.
        """
        filling = self.history[: self.num_requests]
        oldest = filling[-1] if filling else self.now
        return max(1.0, oldest + self.duration - self.now)


def seconds_to_wait(request: HttpRequest) -> int | None:
    """Count a holding request made outside DRF (a storefront form) in its client's budget.

    Return None when it is within the budget (and counted), else the whole seconds until
    the client may hold again, rounded up as DRF's Throttled does; the caller then holds
    nothing.
    """
    throttle = ReserveRateThrottle()
    if throttle.allow_request(request, None):
        return None
    return math.ceil(throttle.wait())
