"""The base of every staff JSON endpoint: session auth with 401s, staff only, and the
cross-origin rule every cookie-carrying API write follows (core.cross_origin).
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.views import APIView

from console.access import IsStaff
from core.cross_origin import OriginCheckedSession


class ConsoleSession(OriginCheckedSession):
    """The staff's session cookie; anonymous callers get 401, cross-site writes 403."""

    def authenticate_header(self, request) -> str:
        return 'Session realm="stockd console"'


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
