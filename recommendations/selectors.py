"""Read-side look-ups for recommendation versions."""

from __future__ import annotations

from retailsite.safe_cache import cache_get, cache_set
from retailsite.tenancy.context import require_tenant_id

from .models import ModelVersion
from .services import active_version_cache_key

_NO_VERSION = 0


def active_version_id() -> int | None:
    """The current tenant's active version id; cached briefly (activation clears it)."""
    key = active_version_cache_key(require_tenant_id())
    cached = cache_get(key)
    if cached is not None:
        return cached or None
    version_id = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).values_list("id", flat=True).first()
    cache_set(key, version_id or _NO_VERSION, timeout=60)
    return version_id
