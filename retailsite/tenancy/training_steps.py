"""Per-tenant training steps (recommendations, forecasts, inventory, ...) and how they run.

One convention: an app declares its step as a module constant in `<app>/steps.py` and registers it in its
AppConfig.ready(); the step names the function that runs it by dotted path, so the training code and the
libraries it needs are imported only by the process that trains (web workers and `manage.py help` stay lean).
`training_step_run` is the one way a step
runs — from `manage.py train`, from the scheduled Celery tasks, or chained after another
step: it takes the per-tenant lock, records a TrainingRun, and runs the step in the
tenant's context. The step itself writes a new version and activates it only at the end, so
a crash leaves the previously active version serving.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.utils import timezone
from django.utils.module_loading import import_string

from .context import Actor, acting_as, tenant_context
from .locks import tenant_lock

if TYPE_CHECKING:
    from .models import Tenant, TrainingRun

logger = logging.getLogger(__name__)


class Progress(Protocol):
    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None: ...


StepFunction = Callable[["Tenant", Progress], str]


@dataclass(frozen=True)
class TrainingStep:
    name: str
    order: int
    # Dotted path of the function `(tenant, progress) -> summary`, imported when the step runs.
    run: str
    description: str = ""
    # The tenant setting (HH:MM) at which the step is due every day, or None if only chained/manual.
    schedule_setting: str | None = None
    # The tenant setting (bool) that switches the scheduled runs off, or None if always scheduled.
    enabled_setting: str | None = None
    # Steps to run after this one succeeds (e.g. inventory after forecasts).
    then: tuple[str, ...] = ()
    # The step's model learns from customers' behaviour: erasing a customer queues it (privacy), so the next model
    # no longer knows them.
    retrain_on_erasure: bool = False

    def function(self) -> StepFunction:
        return import_string(self.run)

    def scheduled_for(self, tenant: Tenant) -> bool:
        """Whether the beat job runs this step for the tenant (chained and manual runs ignore this)."""
        if self.schedule_setting is None:
            return False
        return self.enabled_setting is None or bool(tenant.setting(self.enabled_setting))


_STEPS: dict[str, TrainingStep] = {}


def register_training_step(step: TrainingStep) -> None:
    if not isinstance(step.run, str) or "." not in step.run:
        raise TypeError(f"Training step {step.name!r}: `run` must be a dotted path, got {step.run!r}")
    _STEPS[step.name] = step


def training_steps() -> list[TrainingStep]:
    return sorted(_STEPS.values(), key=lambda step: step.order)


def training_step_get(name: str) -> TrainingStep:
    try:
        return _STEPS[name]
    except KeyError:
        raise ValueError(f"Unknown training step {name!r}; installed: {', '.join(_STEPS) or 'none'}") from None


def silent_progress(message: str, done: int | None = None, total: int | None = None) -> None:
    """A Progress that reports nothing (Celery tasks log instead)."""


class StepAlreadyRunning(RuntimeError):
    pass


class StepGaveUp(RuntimeError):
    """The step's process died too often for one queued request (likely out of memory); not retried."""


# Written on a run whose process died (found "running" by the next run of the step, which holds the lock).
WORKER_LOST_SUMMARY = "worker lost: the process running this step died before it finished"
# A queued request whose runs died this many times is given up, so a job that kills its worker
# (out of memory, a native crash) is not re-delivered forever and does not starve the queue.
MAX_WORKER_LOSSES = 3


def training_step_run(
    *,
    tenant: Tenant,
    step_name: str,
    progress: Progress = silent_progress,
    trigger: str = "manual",
    queued_at: dt.datetime | None = None,
) -> TrainingRun:
    """Run one step for one store under its lock; record the run. Raises if the step fails.

    `queued_at` is when the request to run was queued (Celery tasks pass it). A run of the step
    that started after that moment and succeeded already covers the request — it read data at
    least as fresh — so this one is recorded as skipped instead of training again (a scheduler
    tick that queued a duplicate, a re-delivered message). After MAX_WORKER_LOSSES runs for the
    request died with their worker, it is given up (StepGaveUp) rather than killing more workers.
    """
    from .models import TrainingRun

    step = training_step_get(step_name)
    with (
        tenant_context(tenant),
        acting_as(Actor("system", f"train:{step.name}")),
        tenant_lock(tenant.id, f"train:{step.name}") as acquired,
    ):
        if not acquired:
            raise StepAlreadyRunning(f"{step.name} is already running for {tenant.slug}")
        # Holding the lock, no other run of this step is alive: a "running" one died with its worker.
        TrainingRun.objects.filter(step=step.name, status=TrainingRun.Status.RUNNING).update(
            status=TrainingRun.Status.FAILED,
            finished_at=timezone.now(),
            summary=WORKER_LOST_SUMMARY,
        )
        if queued_at is not None:
            since_queued = TrainingRun.objects.filter(step=step.name, started_at__gte=queued_at)
            covering = since_queued.filter(status=TrainingRun.Status.SUCCEEDED).order_by("-started_at").first()
            if covering is not None:
                return TrainingRun.objects.create(
                    step=step.name,
                    trigger=trigger,
                    status=TrainingRun.Status.SKIPPED,
                    finished_at=timezone.now(),
                    summary=f"skipped: the {covering.trigger} run started {covering.started_at:%Y-%m-%d %H:%M:%S} "
                    "after this request was queued already succeeded",
                )
            losses = since_queued.filter(status=TrainingRun.Status.FAILED, summary=WORKER_LOST_SUMMARY).count()
            if losses >= MAX_WORKER_LOSSES:
                message = (
                    f"gave up: {losses} runs of {step.name} for this request died with their worker "
                    "(out of memory?); it will run again on the next schedule or by hand"
                )
                TrainingRun.objects.create(
                    step=step.name,
                    trigger=trigger,
                    status=TrainingRun.Status.FAILED,
                    finished_at=timezone.now(),
                    summary=message,
                )
                raise StepGaveUp(message)
        run = TrainingRun.objects.create(step=step.name, trigger=trigger)
        try:
            summary = step.function()(tenant, progress)
        except Exception as error:
            TrainingRun.objects.filter(pk=run.pk).update(
                status=TrainingRun.Status.FAILED, finished_at=timezone.now(), summary=f"{type(error).__name__}: {error}"
            )
            logger.exception("training step %s failed for tenant %s", step.name, tenant.slug)
            raise
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.SUCCEEDED, finished_at=timezone.now(), summary=summary
        )
        run.refresh_from_db()
        return run
