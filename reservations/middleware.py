"""Count the answers of reservation routes for /metrics, keyed on the route's name.

The reserve view stays free of metrics code (its hot path is measured on its own); every
answer it gives passes here, whatever produced it (the view, the exception handler, the
idempotency store's replay).
"""

from django.http import HttpRequest, HttpResponse

from core.serving.middleware import HookMiddleware
from reservations import metrics

RESERVE_ROUTE = "api-reservations"
REPLAYED_HEADER = "Idempotent-Replayed"


class ReservationMetricsMiddleware(HookMiddleware):
    """Count reserve answers by status, and requests answered by an idempotent replay."""

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        _count(request, response)
        return response


def _count(request: HttpRequest, response: HttpResponse) -> None:
    match = request.resolver_match
    if match is None:
        return
    if match.url_name == RESERVE_ROUTE and request.method == "POST":
        metrics.count_reservation_outcome(response.status_code)
    if response.get(REPLAYED_HEADER) == "true":
        metrics.count_idempotent_replay(match.url_name or match.view_name)
