"""`GET /metrics`: Prometheus metrics, for the scraper only.

A scrape is let in when it carries `Authorization: Bearer <METRICS_TOKEN>` (compared in
constant time) or comes from an address in METRICS_ALLOWED_NETWORKS (loopback by default).
Others get 403 FORBIDDEN_METRICS; with neither a token nor a network set, /metrics is off
and answers 404. The address is the connection's own (REMOTE_ADDR), and only for a request
that no proxy relayed (no X-Forwarded-For, X-Forwarded-Proto, Forwarded or X-Real-IP): a
reverse proxy on the same host makes every client look like loopback, and anyone can send
X-Forwarded-For. A scraper that goes through the proxy uses the token.

Under several processes (gunicorn workers, the Celery worker) the page sums every process's
files (prometheus_client's multiprocess mode, core.serving.prometheus); the stock gauges are read
from the database on each scrape (reservations.metrics.StockCollector).
"""

import hmac
import ipaddress
import os
from functools import cache

import prometheus_client
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, multiprocess

from core.errors import MetricsForbidden, NotFound, StockdError
from core.serving.prometheus import VARIABLE
from reservations.metrics import StockCollector

_BEARER = "Bearer "
# A request relayed by a reverse proxy on this host comes from loopback: the address says
# nothing about the client then, so a relayed request needs the token.
_PROXY_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_FORWARDED",
    "HTTP_X_REAL_IP",
)


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _through_a_proxy(request: HttpRequest) -> bool:
    return any(header in request.META for header in _PROXY_HEADERS)


def _from_allowed_network(request: HttpRequest) -> bool:
    if _through_a_proxy(request):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(settings.METRICS_ALLOWED_NETWORKS))


def _has_token(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if not token or not sent.startswith(_BEARER):
        return False
    return hmac.compare_digest(sent[len(_BEARER) :].encode(), token.encode())


def _scrape_error(request: HttpRequest) -> StockdError | None:
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        return NotFound()
    if _has_token(request) or _from_allowed_network(request):
        return None
    return MetricsForbidden()


def exposition() -> bytes:
    """Return every metric in Prometheus' text format: this process's or all processes'."""
    if os.environ.get(VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    stock = CollectorRegistry()
    stock.register(StockCollector())
    return prometheus_client.generate_latest(registry) + prometheus_client.generate_latest(stock)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Answer the metrics page to the scraper; 403 to others, 404 while /metrics is off."""
    error = _scrape_error(request)
    if error is not None:
        return JsonResponse(error.body(), status=error.status, headers=error.headers())
    return HttpResponse(exposition(), content_type=prometheus_client.CONTENT_TYPE_LATEST)
