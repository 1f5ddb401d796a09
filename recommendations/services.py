"""Write-side operations on recommendation model versions."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from retailsite.safe_cache import cache_delete
from retailsite.tenancy.context import require_tenant_id

from .models import ModelVersion

ACTIVE_VERSION_CACHE_KEY = "recs:active-version:{tenant_id}"


def active_version_cache_key(tenant_id: int) -> str:
    return ACTIVE_VERSION_CACHE_KEY.format(tenant_id=tenant_id)


def _forget_active_version(tenant_id: int) -> None:
    cache_delete(active_version_cache_key(tenant_id))


def model_version_activate(*, version: ModelVersion, reason: str = "") -> ModelVersion:
    """Make `version` the one serving (retiring the current one) in a single transaction."""
    tenant_id = require_tenant_id()
    with transaction.atomic():
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).exclude(
            pk=version.pk
        ).update(status=ModelVersion.Status.RETIRED)
        version.status = ModelVersion.Status.ACTIVE
        version.status_reason = reason
        version.activated_at = timezone.now()
        version.save(update_fields=["status", "status_reason", "activated_at"])
        transaction.on_commit(lambda: _forget_active_version(tenant_id))
    return version


def model_version_decide(*, version: ModelVersion, tolerance: float) -> ModelVersion:
    """Activate `version` unless its validation NDCG@10 is worse than the active one's by more than
    `tolerance` (relative); a rejected version is kept, with the reason."""
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE).first()
        new_score, old_score = version.ndcg_at_10, current.ndcg_at_10 if current else None
        if current is not None and old_score is not None and new_score is not None:
            floor = old_score * (1.0 - tolerance)
            if new_score < floor:
                version.status = ModelVersion.Status.REJECTED
                version.status_reason = (
                    f"validation NDCG@10 {new_score:.4f} is below the active v{current.number}'s {old_score:.4f} "
                    f"by more than the {tolerance:.0%} tolerance (floor {floor:.4f})"
                )
                version.save(update_fields=["status", "status_reason"])
                return version
        if current is None:
            reason = "first version"
        elif new_score is None or old_score is None:
            reason = "activated (no comparable NDCG@10)"
        else:
            reason = f"NDCG@10 {new_score:.4f} vs active v{current.number}'s {old_score:.4f}"
        return model_version_activate(version=version, reason=reason)


def model_version_mark_failed(*, version_id: int, error: str) -> None:
    ModelVersion.objects.filter(pk=version_id, status=ModelVersion.Status.TRAINING).update(
        status=ModelVersion.Status.FAILED, status_reason=error[:2000]
    )
