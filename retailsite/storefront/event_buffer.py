"""Storefront events recorded without a database commit on the request path (a `WriteBuffer`).

A page view (or add-to-cart) is appended to a Redis list on the Celery broker — one round trip, no PostgreSQL
transaction — and written to PostgreSQL in batches by `events_buffer_flush` (a Celery task on the "light" queue,
queued when the list goes from empty to one entry, a second after, and run by beat every 30 s as a safety net).
The machinery (push with fallback, atomic batches, lock, leftover processing list) is `retailsite/buffered_writes.py`;
the write itself is commerce's (`commerce.services.events_write_recorded`), like every other commerce write.

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

from retailsite.buffered_writes import WriteBuffer
from retailsite.commerce.services import RecordedEvent, events_write_recorded

EVENTS = WriteBuffer(
    name="events",
    item_type=RecordedEvent,
    write=events_write_recorded,
    flush_task="retailsite.storefront.tasks.events_buffer_flush",
)
