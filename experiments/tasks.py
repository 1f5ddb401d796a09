"""Celery tasks of experiments: writing buffered exposures to PostgreSQL (see assignment.py)."""

from __future__ import annotations

from celery import shared_task

from retailsite.buffered_writes import FLUSH_TASK_OPTIONS, flush_task_run

from .assignment import EXPOSURES


@shared_task(bind=True, **FLUSH_TASK_OPTIONS)
def exposures_buffer_flush(self) -> str:
    return flush_task_run(self, EXPOSURES)
