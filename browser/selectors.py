"""Publishable key look-ups (before the store is known: a deliberate platform-wide read, cached briefly)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db.models import QuerySet

from retailsite.safe_cache import cache_get, cache_set
from retailsite.tenancy.context import platform_context

from .models import PublishableKey

CACHE_KEY = "browser:pk:{key}"
CACHE_SECONDS = 60
_UNKNOWN = 0


@dataclass(frozen=True)
class PublishableKeyInfo:
    key: str
    tenant_id: int
    allowed_origins: frozenset[str]


def publishable_key_info(key: str) -> PublishableKeyInfo | None:
    if not key.startswith("pk_") or len(key) > 40 or not key.isascii():
        return None
    cached = cache_get(CACHE_KEY.format(key=key))
    if cached is not None:
        return cached or None
    with platform_context():
        row = (
            PublishableKey.objects.filter(key=key, is_active=True, tenant__is_active=True)
            .values_list("tenant_id", "allowed_origins")
            .first()
        )
    info = PublishableKeyInfo(key, row[0], frozenset(row[1])) if row else None
    cache_set(CACHE_KEY.format(key=key), info or _UNKNOWN, timeout=CACHE_SECONDS)
    return info


def publishable_key_list() -> QuerySet[PublishableKey]:
    """The current store's publishable keys, newest first."""
    return PublishableKey.objects.order_by("-created_at")


def presented_key(request: Any) -> str:
    return (request.GET.get("key") or request.META.get("HTTP_X_PUBLISHABLE_KEY") or "").strip()


def request_origin(request: Any) -> str:
    """The page's origin: the Origin header, or (same-origin GETs carry none) the origin of the Referer."""
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin:
        return origin
    referer = urlsplit(request.META.get("HTTP_REFERER", ""))
    return f"{referer.scheme}://{referer.netloc}" if referer.scheme and referer.netloc else ""


def cors_allowed_for_request(sender: Any, request: Any, **kwargs: Any) -> bool:
    """django-cors-headers asks this for /api/v1/browser/ requests: allowed only from the key's own origins."""
    if not request.path.startswith("/api/v1/browser/"):
        return False
    info = publishable_key_info(presented_key(request))
    return info is not None and request.META.get("HTTP_ORIGIN", "") in info.allowed_origins
