"""Celery tasks of webhooks (queue "light"): one attempt per task; a sweep re-queues what is due.

Both take ids only and are safe to run twice: an attempt locks its row and skips a delivery that is no
longer pending (delivered, given up, or being attempted by another worker).
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from retailsite.celery import app
from retailsite.tenancy.context import platform_context, tenant_context
from retailsite.tenancy.models import Tenant

from .services import due_deliveries, webhook_delivery_attempt


@app.task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def deliver_webhook(tenant_id: int, delivery_id: int) -> str:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return "no such store"
    with tenant_context(tenant):
        delivery = webhook_delivery_attempt(delivery_id=delivery_id)
    return delivery.status if delivery is not None else "not due"


@app.task(acks_late=True)
def sweep_webhook_deliveries() -> int:
    """Beat job: re-queue deliveries whose attempt is overdue (a task lost with a broker or a worker)."""
    with platform_context():
        tenants = list(Tenant.objects.filter(is_active=True))
    queued = 0
    for tenant in tenants:
        with tenant_context(tenant):
            for tenant_id, delivery_id in due_deliveries():
                deliver_webhook.delay(tenant_id, delivery_id)
                queued += 1
    return queued
