"""Celery tasks of the privacy app: the retention purge, fanned out per store.

Beat runs `purge_expired_events`, which queues one `purge_tenant_events` per active store (each purges the
store's expired events, holder rows and sync deletion entries: `personal_data_purge_expired`). Both take ids
only and are safe to run twice (a second run finds nothing older than the cutoffs).
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from retailsite.celery import app
from retailsite.tenancy.context import platform_context
from retailsite.tenancy.models import Tenant

from .services import personal_data_purge_expired


@app.task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def purge_tenant_events(tenant_id: int) -> dict[str, int]:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return {}
    return personal_data_purge_expired(tenant=tenant)


@app.task(acks_late=True)
def purge_expired_events() -> list[int]:
    """Beat job: one purge task per active store (the sync deletion entries expire in every store)."""
    with platform_context():
        queued = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in queued:
        purge_tenant_events.delay(tenant_id)
    return queued
