"""Storefront events recorded without a database commit on the request path (a `WriteBuffer`).

A page view (or add-to-cart) is appended to a Redis list on the Celery broker — one round trip, no PostgreSQL
transaction — and written to PostgreSQL in batches by `events_buffer_flush` (a Celery task on the "light" queue,
queued when the list goes from empty to one entry, a second after, and run by beat every 30 s as a safety net).
The machinery (push with fallback, atomic batches, lock, leftover processing list) is `retailsite/buffered_writes.py`.

What can be lost, and when (the loss window):
- a web worker that dies after answering lost nothing: the event was in Redis before the page was sent;
- a flush that dies half-way lost nothing: it moves a batch atomically to a processing list and deletes it only
  after PostgreSQL committed; the next flush writes that list first (writes are idempotent by `dedupe_key`);
- Redis unreachable when the page is served: the event is written to PostgreSQL at once, as before;
- what Redis held and had not flushed when it lost its data (a crash without persistence): at most the events
  of the last FLUSH_DELAY_SECONDS plus one flush — the same durability as the Celery queues themselves; run the
  broker Redis with appendonly to keep them. A clean Redis shutdown saves them (RDB/AOF) and they flush after.
- shoppers see their own view in "because you viewed" about a second later instead of on the very next page.
- events of a customer erased (or who withdrew personalization consent) before the flush are dropped.

Without a Redis broker (the eager, in-process Celery of the demo and the test settings) nothing is buffered.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction

from retailsite.buffered_writes import FLUSH_BATCH, WriteBuffer, customers_still_consenting
from retailsite.commerce.models import Event, Product
from retailsite.tenancy.context import tenant_context


@dataclass(frozen=True)
class PendingEvent:
    """An event as the storefront recorded it: ids resolved, identity (`dedupe_key`) fixed when it happened."""

    tenant_id: int
    customer_id: int | None
    session_id: str
    product_id: int
    event_type: str
    occurred_at: str  # ISO 8601, UTC
    recommendation_id: str
    dedupe_key: str


def events_write(events: Sequence[PendingEvent]) -> int:
    """Store the events (any stores'), each once; events of products deleted meanwhile, or of customers erased or
    without personalization consent by now, are dropped.

    Returns how many rows were new.
    """
    by_tenant: dict[int, list[PendingEvent]] = defaultdict(list)
    for event in events:
        by_tenant[event.tenant_id].append(event)
    created = 0
    for tenant_id, pending in by_tenant.items():
        with tenant_context(tenant_id), transaction.atomic():
            products = set(Product.objects.filter(pk__in={e.product_id for e in pending}).values_list("pk", flat=True))
            customers = customers_still_consenting(e.customer_id for e in pending if e.customer_id is not None)
            rows = [
                Event(
                    tenant_id=tenant_id,
                    customer_id=e.customer_id,
                    session_id=e.session_id,
                    product_id=e.product_id,
                    event_type=e.event_type,
                    occurred_at=dt.datetime.fromisoformat(e.occurred_at),
                    recommendation_id=e.recommendation_id,
                    dedupe_key=e.dedupe_key,
                )
                for e in _unique(pending)
                if e.product_id in products
                and (e.customer_id is None or e.customer_id in customers)
                and (e.customer_id is not None or e.session_id)
            ]
            created += len(Event.objects.bulk_create(rows, batch_size=FLUSH_BATCH, ignore_conflicts=True))
    return created


def _unique(events: Iterable[PendingEvent]) -> list[PendingEvent]:
    return list({event.dedupe_key: event for event in events}.values())


EVENTS = WriteBuffer(
    name="events",
    item_type=PendingEvent,
    write=events_write,
    flush_task="retailsite.storefront.tasks.events_buffer_flush",
)
