"""Celery task metrics from Celery's signals: how many tasks ran, how long, and how they ended.

Imported by the worker through CELERY_IMPORTS (settings), which connects the handlers in every worker
process. The handlers run in the pool process that executes the task; in multiprocess mode its values
reach the scrape through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import time
from typing import Any

from celery import signals

from .metrics import celery_task_duration_seconds, celery_tasks_total

# Start times by task id, per process (a pool process runs one task at a time; eager tasks nest).
_started: dict[str, float] = {}

_OUTCOMES = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "RETRY": "retried",
    "REJECTED": "rejected",
    "IGNORED": "ignored",
    "REVOKED": "revoked",
}


def _task_name(task: Any, sender: Any = None) -> str:
    return str(getattr(task, "name", None) or getattr(sender, "name", None) or "unknown")


@signals.task_prerun.connect(weak=False)
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@signals.task_postrun.connect(weak=False)
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    outcome = _OUTCOMES.get(str(state), str(state or "unknown").lower())
    name = _task_name(task, kwargs.get("sender"))
    celery_tasks_total.labels(task=name, outcome=outcome).inc()
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        celery_task_duration_seconds.labels(task=name, outcome=outcome).observe(time.monotonic() - started)


@signals.task_revoked.connect(weak=False)
def _task_revoked(request: Any = None, sender: Any = None, **_: Any) -> None:
    # Revoked (or terminated) before or while running: no postrun follows.
    celery_tasks_total.labels(task=_task_name(sender), outcome="revoked").inc()
    task_id = getattr(request, "id", None)
    if task_id:
        _started.pop(task_id, None)
