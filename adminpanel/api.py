"""The base of every staff JSON endpoint: session auth with 401s, staff only, and
cross-origin protection for unsafe methods without CSRF tokens.

A same-origin script may send JSON, or a request with no body at all (the original's
sign-out), without a CSRF token (as the original's panel did); a cross-site request is
refused. This is the approach of Go's `http.CrossOriginProtection`: browsers say where a
request comes from in `Sec-Fetch-Site` (or `Origin`), and a form on another site cannot send
`application/json` nor leave out its Content-Type.
"""

from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied
from rest_framework.views import APIView

from adminpanel.access import IsStaff

_SAFE = {"GET", "HEAD", "OPTIONS"}


class ConsoleSession(SessionAuthentication):
    """The staff's session cookie; anonymous callers get 401, cross-site writes 403."""

    def authenticate_header(self, request) -> str:
        return 'Session realm="stockd console"'

    def enforce_csrf(self, request) -> None:
        if request.method in _SAFE:
            return
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise PermissionDenied("Cross-site requests are refused.")
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.get_host():
            raise PermissionDenied("Cross-origin requests are refused.")
        if request.content_type != "application/json" and not _bodiless(request):
            raise PermissionDenied("Send JSON (Content-Type: application/json).")


def _bodiless(request) -> bool:
    """Whether a request has no body and no Content-Type (the original UI's sign-out).

    No HTML form sends one: a form always names its encoding, so this lets no cross-site
    form through, as the JSON rule does not.
    """
    meta = request.META
    return not meta.get("CONTENT_TYPE") and meta.get("CONTENT_LENGTH") in (None, "", "0")


class StaffApi(APIView):
    """An endpoint of the staff JSON API: staff only (401 anonymous, 403 shoppers)."""

    authentication_classes = [ConsoleSession]
    permission_classes = [IsStaff]


class ConsoleSessionScheme(OpenApiAuthenticationExtension):
    """Describe the console's session in the OpenAPI document: Django's session cookie."""

    target_class = ConsoleSession
    name = "consoleSession"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
