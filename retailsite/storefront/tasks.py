"""Celery tasks of the storefront: writing buffered shopper events to PostgreSQL (see event_buffer.py)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .event_buffer import FLUSH_DELAY_SECONDS, events_buffer_flush_now


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=None,
    time_limit=300,
    soft_time_limit=270,
)
def events_buffer_flush(self) -> str:
    taken = events_buffer_flush_now()
    if taken is None:
        # Another flush is running; it may have passed the events pushed just now: look again shortly.
        raise self.retry(countdown=FLUSH_DELAY_SECONDS, max_retries=5)
    return f"{taken} events flushed"
