"""Read-side look-ups for recommendation versions."""

from __future__ import annotations

from retailsite.safe_cache import cache_get_recent
from retailsite.tenancy.context import require_tenant_id

from .models import ModelVersion
from .services import active_version_cache_key

_NO_VERSION = 0


def active_version_id() -> int | None:
    """The current tenant's active version id; cached briefly (activation clears it; another process's activation
    shows here within `RECENT_SECONDS`)."""
    cached = cache_get_recent(active_version_cache_key(require_tenant_id()), _read_active_version_id, timeout=60)
    return cached or None


def _read_active_version_id() -> int:
    version_id = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).values_list("id", flat=True).first()
    return version_id or _NO_VERSION
