"""How the stock API knows its caller: an API key (`Authorization: Bearer <key>`), or a staff
member's session (core.cross_origin.OriginCheckedSession). Keys carry scopes; staff may do
everything a scope allows."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from integrations.keys import find_key
from integrations.models import ApiKey


class KeyHolder:
    """The caller behind an API key, as request.user. Its `pk` names the key ("key-<id>"), so
    per-caller records (Idempotency-Keys, throttles) keep keys apart from each other and from
    users; it is never staff."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_api_key = True  # not a shopper: holds it makes belong to no account (reservations.access)

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.pk = f"key-{key.pk}"

    def __str__(self) -> str:
        return f"API key {self.key.prefix}"

    @property
    def actor(self) -> str:
        return f"key:{self.key.prefix}"


def actor_of(request) -> str:
    """Name the caller for the ledger and the audit log: "key:<prefix>" or "user:<id>"."""
    if isinstance(request.user, KeyHolder):
        return request.user.actor
    return f"user:{request.user.pk}"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`; an unknown or revoked key answers 401."""

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != b"bearer":
            return None
        if len(words) != 2:
            raise AuthenticationFailed("Send Authorization: Bearer <key>.")
        try:
            plain = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Unknown or revoked API key.") from None
        key = find_key(plain)
        if key is None:
            raise AuthenticationFailed("Unknown or revoked API key.")
        return KeyHolder(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="stockd"'


class HasScope(BasePermission):
    """An API key with the view's scope for this method (`read_scope` for GET, `write_scope`
    otherwise), or a staff session. Others: 401 anonymous, 403 with too few rights."""

    message = "This API key lacks the scope this request needs, or you are not staff."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiKey):
            safe = request.method in ("GET", "HEAD", "OPTIONS")
            return request.auth.allows(view.read_scope if safe else view.write_scope)
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describe API keys in the OpenAPI document: HTTP bearer tokens."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer", "description": "stockd_<prefix>_<secret>"}
