"""The upload job task (queue "light"): ids in, one service call, safe to run twice (a job runs once)."""

from __future__ import annotations

from retailsite.celery import app
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

from .services import import_job_run


@app.task(acks_late=True)
def run_import_job(tenant_id: int, job_id: int) -> str:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return "no such store"
    with tenant_context(tenant):
        job = import_job_run(tenant=tenant, job_id=job_id)
    return job.status if job is not None else "not queued"
