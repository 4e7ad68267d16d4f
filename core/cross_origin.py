"""One cross-origin rule for every cookie-carrying JSON write, shopper and staff alike.

A browser says where a request comes from: `Sec-Fetch-Site` in every current browser, and
`Origin` on every unsafe request. A write is same-origin, and needs no CSRF token, when
`Sec-Fetch-Site` is `same-origin` (or `none`: the user typed it), or when `Origin` is the site's
own origin or one listed in CSRF_TRUSTED_ORIGINS. Any other browser write is refused, token or
not. A request with neither header is no browser's (or a very old one's), and must be JSON or
bodiless, which no HTML form can send. This is the approach of Go's
`http.CrossOriginProtection`, and what lets the original UI, behind its own rewrite proxy, write
without tokens.

The site's own origin is Django's `request.scheme` and `request.get_host()`: behind
TRUSTED_PROXIES the settings turn on USE_X_FORWARDED_HOST and SECURE_PROXY_SSL_HEADER, so it is
the origin the browser used; with no trusted proxy both headers are ignored.

HTML forms keep Django's CSRF token (CsrfViewMiddleware); this rule is the API's, applied by
OriginCheckedSession, DRF's session authentication with its token check replaced.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import is_same_domain
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BROWSER_SAYS_SAME_ORIGIN = frozenset({"same-origin", "none"})

CROSS_SITE = "Cross-site requests are refused."
SEND_JSON = "Send JSON (Content-Type: application/json)."


def site_origin(request: HttpRequest) -> str:
    """Return the origin the browser sees this site at (the forwarded one behind a trusted
    proxy)."""
    return f"{request.scheme}://{request.get_host()}"


def is_trusted_origin(request: HttpRequest, origin: str) -> bool:
    """Whether `origin` is the site's own or matches an entry of CSRF_TRUSTED_ORIGINS
    (`https://shop.example.com`, or `https://*.example.com` for its subdomains)."""
    if origin == site_origin(request):
        return True
    given = urlsplit(origin)
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        allowed = urlsplit(trusted)
        # "*.example.com" reads as Django's pattern ".example.com": the domain's subdomains.
        pattern = allowed.netloc.lstrip("*")
        if given.scheme == allowed.scheme and is_same_domain(given.netloc, pattern):
            return True
    return False


def refuse_cross_site_write(request: HttpRequest) -> None:
    """Raise PermissionDenied (403) unless `request` is safe, or a same-origin write, or a
    JSON or bodiless write that no browser marked (see the module's docstring)."""
    if request.method in SAFE_METHODS:
        return
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if (
        fetch_site in _BROWSER_SAYS_SAME_ORIGIN
        or origin is not None
        and origin != "null"
        and is_trusted_origin(request, origin)
    ):
        pass
    elif fetch_site is not None or origin is not None:
        raise PermissionDenied(CROSS_SITE)
    if not _is_json(request) and not _is_bodiless(request):
        raise PermissionDenied(SEND_JSON)


def _is_json(request: HttpRequest) -> bool:
    """Whether the Content-Type is JSON, parameters (`; charset=utf-8`) aside."""
    media_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0]
    return media_type.strip().lower() == "application/json"


def _is_bodiless(request: HttpRequest) -> bool:
    """Whether a request has no body and no Content-Type (the original UI's sign-out).

    No HTML form sends one: a form always names its encoding, so this lets no cross-site form
    through, as the JSON rule does not.
    """
    meta = request.META
    return not meta.get("CONTENT_TYPE") and meta.get("CONTENT_LENGTH") in (None, "", "0")


def refuse_cross_site_cookie_write(request: HttpRequest) -> None:
    """The API's authentication rule for writes: one that carries cookies, signed in or not,
    must pass the origin rule (a guest's `stockd_guest` cookie owns holds as a session owns an
    account's). OriginCheckedSession applies it to every DRF view, the lean reserve path
    (reservations/apis/lean_reserve.py) to its own requests."""
    if request.COOKIES:
        refuse_cross_site_write(request)


class OriginCheckedSession(SessionAuthentication):
    """DRF's session authentication, with the origin rule instead of the CSRF token."""

    def authenticate(self, request):
        refuse_cross_site_cookie_write(request)
        return super().authenticate(request)

    def enforce_csrf(self, request) -> None:
        """Checked in authenticate() by the origin rule; no token is asked for."""


class OriginCheckedSessionScheme(OpenApiAuthenticationExtension):
    """Describe the session in the OpenAPI document as drf-spectacular does DRF's own."""

    target_class = OriginCheckedSession
    name = "cookieAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
