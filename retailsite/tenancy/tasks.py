"""Celery tasks that run training steps per tenant, and the beat job that fans them out.

Tasks take ids, never instances; they are safe to run twice (a second concurrent run finds
the per-tenant lock taken and skips; a repeated run writes a new version). Training tasks go
to the "training" queue, the fan-out to "light".
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from retailsite.celery import app

from .context import platform_context, tenant_context
from .models import Tenant, TrainingRun
from .training_steps import StepAlreadyRunning, StepGaveUp, training_step_get, training_step_run, training_steps

logger = logging.getLogger(__name__)

REDELIVERED_LOCK_RETRY_SECONDS = 15


@app.task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def train_tenant_step(
    self,
    tenant_id: int,
    step_name: str,
    trigger: str = "schedule",
    queued_at: str | None = None,
) -> str:
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return f"tenant {tenant_id} is gone or inactive; nothing to do"
    try:
        run = training_step_run(
            tenant=tenant,
            step_name=step_name,
            trigger=trigger,
            queued_at=dt.datetime.fromisoformat(queued_at) if queued_at else None,
        )
    except StepAlreadyRunning as busy:
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        if redelivered or self.request.retries:
            # A re-delivered message (its worker died) can arrive before PostgreSQL has noticed the
            # dead connection and released its lock: try again shortly instead of dropping the work.
            raise self.retry(exc=busy, countdown=REDELIVERED_LOCK_RETRY_SECONDS, max_retries=10) from busy
        logger.info("%s", busy)
        return str(busy)
    except StepGaveUp as gave_up:
        logger.error("%s", gave_up)
        return str(gave_up)
    if run.status == TrainingRun.Status.SKIPPED:
        return run.summary
    for follower in training_step_get(step_name).then:
        enqueue_training(tenant_id=tenant.id, step_name=follower, trigger="chain")
    return run.summary


def enqueue_training(*, tenant_id: int, step_name: str, trigger: str, background: bool = False) -> None:
    """Queue a step once the current transaction commits (never for data a rollback undoes).

    The message carries the moment it was queued: a run that starts later and succeeds makes it
    redundant (see training_step_run), so duplicates queued by the scheduler cost a lookup, not a retrain.
    A failure to queue or (with eager tasks) of the step itself never undoes or fails what committed.
    `background`: with no broker (tasks run eagerly in-process), run the step in a thread, so the
    caller (a shopper's request) does not wait for a retrain.
    """

    def send() -> None:
        train_tenant_step.delay(tenant_id, step_name, trigger, timezone.now().isoformat())

    if background and settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(lambda: _run_in_thread(send, f"{step_name}-{tenant_id}"), robust=True)
    else:
        transaction.on_commit(send, robust=True)


def _run_in_thread(work: Callable[[], None], name: str) -> None:
    def run() -> None:
        try:
            work()
        except Exception:
            logger.exception("background training %s failed", name)
        finally:
            connections.close_all()  # this thread's own connection

    threading.Thread(target=run, name=f"train-{name}", daemon=True).start()


def step_is_due(*, tenant: Tenant, step_setting: str, last_started: dt.datetime | None, now: dt.datetime) -> bool:
    """Due once a day at the tenant's local HH:MM, unless a run already started since then."""
    tz = zoneinfo.ZoneInfo(tenant.timezone)
    hour, minute = (int(part) for part in str(tenant.setting(step_setting)).split(":"))
    local_now = now.astimezone(tz)
    due = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due > local_now:
        due -= dt.timedelta(days=1)
    return last_started is None or last_started < due


@app.task(acks_late=True, time_limit=600, soft_time_limit=540)
def schedule_due_training() -> list[str]:
    """Beat job: queue every step that is due, one task per tenant and step."""
    queued: list[str] = []
    now = timezone.now()
    with platform_context():
        tenants = list(Tenant.objects.filter(is_active=True))
    for tenant in tenants:
        with tenant_context(tenant):
            for step in training_steps():
                if step.schedule_setting is None or not step.scheduled_for(tenant):
                    continue
                last = (
                    TrainingRun.objects.filter(step=step.name)
                    .exclude(status=TrainingRun.Status.FAILED)
                    .order_by("-started_at")
                    .values_list("started_at", flat=True)
                    .first()
                )
                if step_is_due(tenant=tenant, step_setting=step.schedule_setting, last_started=last, now=now):
                    with transaction.atomic():
                        enqueue_training(tenant_id=tenant.id, step_name=step.name, trigger="schedule")
                    queued.append(f"{tenant.slug}:{step.name}")
    return queued
