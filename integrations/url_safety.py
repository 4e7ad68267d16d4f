"""Webhook URLs may not point into the service's own network (server-side request forgery):
no loopback, private, link-local, multicast or reserved address, unless
WEBHOOK_ALLOW_PRIVATE_NETWORKS is set (tests and on-premises receivers). Checked when a
webhook is registered and again before each batch of deliveries, since a name may resolve
elsewhere later.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import InvalidInput


class UnsafeUrl(InvalidInput):
    detail = "The webhook URL is not allowed."


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and every address its host resolves to is
    public (or private networks are allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("The webhook URL must be http:// or https:// with a host.")
    if parts.username or parts.password:
        raise UnsafeUrl("The webhook URL may not carry a user name or password.")
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port)}
    except (OSError, ValueError, UnicodeError):
        raise UnsafeUrl(f"The webhook host {parts.hostname!r} does not resolve.") from None
    if any(_forbidden(address) for address in addresses):
        raise UnsafeUrl(
            f"The webhook host {parts.hostname!r} resolves to a loopback, private or link-local "
            "address."
        )
