"""Which sales channel a hold belongs to: the channel the request's API key is bound to, or
the storefront's (`web`) for everyone else.

The key is read with the authentication class CHANNEL_KEY_AUTHENTICATION names (the
integrations app's API keys: it stands above this app, so it is named, not imported). A key
answers `allows(scope)` and `channel_code`; one without the `holds` scope or a channel may not
hold (403).
"""

from django.conf import settings
from django.utils.module_loading import import_string
from rest_framework.exceptions import PermissionDenied
from rest_framework.settings import api_settings

from sales.models import WEB

HOLDS_SCOPE = "holds"


def authentication_classes() -> list:
    """The hold endpoints' authentication: the API's default (sessions), then channel keys."""
    return [
        *api_settings.DEFAULT_AUTHENTICATION_CLASSES,
        import_string(settings.CHANNEL_KEY_AUTHENTICATION),
    ]


def channel_of(request) -> str:
    """The channel a request holds for; raise PermissionDenied for a key that may not hold."""
    key = getattr(request, "auth", None)
    if key is None or not hasattr(key, "channel_code"):
        return WEB
    if not key.allows(HOLDS_SCOPE) or key.channel_code is None:
        raise PermissionDenied("This API key is not a sales channel's key (scope `holds`).")
    return key.channel_code
