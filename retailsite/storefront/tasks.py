"""Celery tasks of the storefront: writing buffered shopper events to PostgreSQL (see event_buffer.py)."""

from __future__ import annotations

from retailsite.buffered_writes import FLUSH_TASK_OPTIONS, flush_task_run
from retailsite.celery import app

from .event_buffer import EVENTS


@app.task(bind=True, **FLUSH_TASK_OPTIONS)
def events_buffer_flush(self) -> str:
    return flush_task_run(self, EVENTS)
