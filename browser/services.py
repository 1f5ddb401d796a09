"""Publishable keys: create (with validated origins) and revoke."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from retailsite.safe_cache import cache_delete

from .models import PublishableKey
from .selectors import CACHE_KEY


class PublishableKeyError(ValueError):
    """Bad input for a publishable key; the message says what."""


def clean_origin(origin: str) -> str:
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise PublishableKeyError(
            f"{origin!r} is not an origin: give scheme://host[:port], e.g. https://shop.example.com"
        )
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def new_publishable_key() -> str:
    return "pk_" + secrets.token_urlsafe(24)


def publishable_key_create(*, name: str, allowed_origins: list[str]) -> PublishableKey:
    origins = sorted({clean_origin(origin) for origin in allowed_origins if origin.strip()})
    if not origins:
        raise PublishableKeyError("Give at least one allowed origin (the site that embeds the widget).")
    return PublishableKey.objects.create(name=name, allowed_origins=origins, key=new_publishable_key())


def publishable_key_revoke(*, key: PublishableKey) -> None:
    PublishableKey.objects.filter(pk=key.pk).update(is_active=False)
    cache_delete(CACHE_KEY.format(key=key.key))
