"""Celery tasks of experiments: writing buffered exposures to PostgreSQL (see assignment.py)."""

from __future__ import annotations

from retailsite.buffered_writes import FLUSH_TASK_OPTIONS, flush_task_run
from retailsite.celery import app

from .assignment import EXPOSURES


@app.task(bind=True, **FLUSH_TASK_OPTIONS)
def exposures_buffer_flush(self) -> str:
    return flush_task_run(self, EXPOSURES)
