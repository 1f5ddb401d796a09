"""Read-side queries of the partner API's own data: API keys (the store's catalog, customers and orders are
read through retailsite.commerce.selectors).

Everything except `api_key_for_presented_key` runs in the current tenant's context (the
tenant-scoped managers fail closed without one).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from retailsite.tenancy.context import platform_context

from .keys import key_matches, key_prefix
from .models import ApiKey

# Compared against when no row has the presented prefix, so a miss costs the same as a hit.
_DUMMY_HASH = "0" * 64


def api_key_for_presented_key(raw_key: str) -> ApiKey | None:
    """The live key matching `raw_key` (any store), with its tenant; None if unknown, revoked or the store is off.

    The key table is under row-level security and the store is not known yet, so the
    look-up by prefix is a deliberate platform-wide read.
    """
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    with platform_context():
        candidates = list(ApiKey.objects.select_related("tenant").filter(prefix=prefix))
    if not candidates:
        key_matches(raw_key, _DUMMY_HASH)
    found = next((candidate for candidate in candidates if key_matches(raw_key, candidate.secret_hash)), None)
    if found is None or found.revoked_at is not None or not found.tenant.is_active:
        return None
    return found


def api_key_prefix_in_use(prefix: str) -> bool:
    with platform_context():
        return ApiKey.objects.filter(prefix=prefix).exists()


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by").order_by("-created_at", "-pk")


def api_key_get(*, prefix_or_id: str) -> ApiKey | None:
    """A key of the current store by its public prefix (or the `rsk_<prefix>` start of it) or its numeric id."""
    text = prefix_or_id.strip().removeprefix("rsk_").split("_", 1)[0]
    query = Q(prefix=text)
    if text.isdigit() and len(text) < 19:
        query |= Q(pk=int(text))
    return ApiKey.objects.filter(query).first()
