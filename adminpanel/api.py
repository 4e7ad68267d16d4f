"""The base of every staff JSON endpoint: session auth with 401s, staff only, and
cross-origin protection for unsafe methods without CSRF tokens.

A same-origin script may send JSON without a CSRF token (as the original's panel did); a
cross-site request is refused. This is the approach of Go's `http.CrossOriginProtection`:
browsers say where a request comes from in `Sec-Fetch-Site` (or `Origin`), and a form on
another site cannot send `application/json`.
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
        if request.content_type != "application/json":
            raise PermissionDenied("Send JSON (Content-Type: application/json).")


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
