"""Which webhook URLs may receive deliveries: never private, loopback or link-local addresses (SSRF).

Checked when an endpoint is saved and again before every delivery (the name may resolve elsewhere by then).
`WEBHOOKS_ALLOW_PRIVATE_URLS = True` (tests, a local receiver) lifts the address check, not the scheme check.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeWebhookUrl(ValueError):
    """A URL deliveries must not go to; the message says why."""


def webhook_url_check(url: str) -> None:
    parts = urlsplit(url)
    allow_private = bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False))
    schemes = ("https", "http") if allow_private or settings.DEBUG else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeWebhookUrl(f"Use an {' or '.join(schemes)} URL with a host name.")
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("Put no credentials in the URL; verify the signature instead.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeWebhookUrl(f"The host {parts.hostname!r} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise UnsafeWebhookUrl(
                f"{parts.hostname!r} resolves to {address}, a private, loopback or reserved address: "
                "webhooks go to public addresses only."
            )
