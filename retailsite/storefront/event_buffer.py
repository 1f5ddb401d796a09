"""Storefront events recorded without a database commit on the request path.

A page view (or add-to-cart) is appended to a Redis list on the Celery broker — one round trip, no PostgreSQL
transaction — and written to PostgreSQL in batches by `events_buffer_flush` (a Celery task on the "light" queue,
queued when the list goes from empty to one entry, a second after, and run by beat every 30 s as a safety net).

What can be lost, and when (the loss window):
- a web worker that dies after answering lost nothing: the event was in Redis before the page was sent;
- a flush that dies half-way lost nothing: it moves a batch atomically to a processing list and deletes it only
  after PostgreSQL committed; the next flush writes that list first (writes are idempotent by `dedupe_key`);
- Redis unreachable when the page is served: the event is written to PostgreSQL at once, as before;
- what Redis held and had not flushed when it lost its data (a crash without persistence): at most the events
  of the last FLUSH_DELAY_SECONDS plus one flush — the same durability as the Celery queues themselves; run the
  broker Redis with appendonly to keep them. A clean Redis shutdown saves them (RDB/AOF) and they flush after.
- shoppers see their own view in "because you viewed" about a second later instead of on the very next page.

Without a Redis broker (the eager, in-process Celery of the demo and the test settings) nothing is buffered.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from retailsite.commerce.models import Customer, Event, Product
from retailsite.tenancy.context import tenant_context

logger = logging.getLogger(__name__)

BUFFER_KEY = "retailsite:events:buffer"
PROCESSING_KEY = "retailsite:events:processing"
FLUSH_LOCK_KEY = "retailsite:events:flush-lock"
FLUSH_DELAY_SECONDS = 1.0
FLUSH_BATCH = 1000
FLUSH_LOCK_SECONDS = 120

# Atomically move up to ARGV[1] events from the buffer to the processing list (the flush's own copy).
_TAKE_BATCH_LUA = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
return items
"""


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> PendingEvent:
        return cls(**json.loads(raw))


@functools.cache
def _broker_client() -> Any:
    """The broker's Redis (persistent, noeviction in production), or None when events are not buffered."""
    url = str(settings.CELERY_BROKER_URL)
    if settings.CELERY_TASK_ALWAYS_EAGER or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def events_buffer_client() -> Any:
    return _broker_client()


def event_buffer_push(event: PendingEvent, *, client: Any = None) -> bool:
    """Append the event to the buffer (and queue a flush if it was empty); False if it could not be buffered."""
    client = client if client is not None else events_buffer_client()
    if client is None:
        return False
    try:
        length = client.rpush(BUFFER_KEY, event.to_json())
    except Exception as error:  # Redis down or slow: the caller writes the event itself
        logger.warning("event buffer unavailable (%s); writing the event directly", type(error).__name__)
        return False
    if length == 1:
        _queue_flush()
    return True


def _queue_flush() -> None:
    from .tasks import events_buffer_flush

    try:
        events_buffer_flush.apply_async(countdown=FLUSH_DELAY_SECONDS)
    except Exception as error:  # the beat safety net flushes within 30 s
        logger.warning("could not queue the event flush (%s)", type(error).__name__)


def events_write(events: Sequence[PendingEvent]) -> int:
    """Store the events (any stores'), each once; events of customers or products deleted meanwhile are dropped.

    Returns how many rows were new.
    """
    by_tenant: dict[int, list[PendingEvent]] = defaultdict(list)
    for event in events:
        by_tenant[event.tenant_id].append(event)
    created = 0
    for tenant_id, pending in by_tenant.items():
        with tenant_context(tenant_id), transaction.atomic():
            products = set(Product.objects.filter(pk__in={e.product_id for e in pending}).values_list("pk", flat=True))
            customer_ids = {e.customer_id for e in pending if e.customer_id is not None}
            customers = set(Customer.objects.filter(pk__in=customer_ids).values_list("pk", flat=True))
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


def events_buffer_flush_now(*, client: Any = None, max_batches: int = 1000) -> int | None:
    """Write buffered events to PostgreSQL until the buffer is empty; None if another flush holds the lock.

    Returns how many events were taken from Redis (stored or already there).
    """
    client = client if client is not None else events_buffer_client()
    if client is None:
        return 0
    if not client.set(FLUSH_LOCK_KEY, "1", nx=True, ex=FLUSH_LOCK_SECONDS):
        return None
    taken = 0
    try:
        # A flush that died after taking its batch left it here: write it first.
        leftover = client.lrange(PROCESSING_KEY, 0, -1)
        if leftover:
            events_write([PendingEvent.from_json(raw) for raw in leftover])
            client.delete(PROCESSING_KEY)
            taken += len(leftover)
        take = client.register_script(_TAKE_BATCH_LUA)
        for _ in range(max_batches):
            batch = take(keys=[BUFFER_KEY, PROCESSING_KEY], args=[FLUSH_BATCH])
            if not batch:
                break
            events_write([PendingEvent.from_json(raw) for raw in batch])
            client.delete(PROCESSING_KEY)
            taken += len(batch)
    finally:
        client.delete(FLUSH_LOCK_KEY)
    return taken
