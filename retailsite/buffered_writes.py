"""Writes taken off the request path: a Redis list on the Celery broker, written to PostgreSQL in batches.

One way in for every "record this, but do not commit on the request path" concern (storefront events in
`storefront/event_buffer.py`, experiment exposures in `experiments/assignment.py`). Each concern declares a
`WriteBuffer`: a name (its Redis keys), the frozen dataclass it records, a write function and its flush task.

- `record(*items)`: one RPUSH — no PostgreSQL transaction. When the list goes from empty to one entry the
  buffer's flush task is queued (Celery, "light" queue) to run FLUSH_DELAY_SECONDS later; beat runs it as a
  safety net as well (settings `CELERY_BEAT_SCHEDULE`). When Redis cannot be reached the item is written at
  once (the write function, as the flush would), so the caller never loses it and never fails.
- `flush_now()`: under a lock (one flush per buffer at a time, renewed per batch), moves a batch atomically
  (a Lua script) from the list to the buffer's processing list, writes it, and deletes the processing list only
  after PostgreSQL committed. A flush that died after taking its batch left it in the processing list: the next
  flush writes it first.

The write function gets the batch (any stores' items) and must therefore:
- set each store's tenant itself (`tenant_context`, row-level security) and drop items whose rows are gone;
- be safe to run twice on the same batch (a flush that died between PostgreSQL's commit and deleting its
  processing list is replayed) — idempotent, or with its replay effect documented;
- never undo an erasure or a consent withdrawal that happened while the item waited:
  `customers_still_consenting` gives the customers it may still write for, and holds them until it commits.

What can be lost, and when (the loss window), for every buffer:
- a web worker that dies after answering lost nothing: the item was in Redis before the answer was sent;
- a flush that dies half-way lost nothing (its processing list is written by the next flush);
- what the broker Redis held unflushed when it lost its data (a crash without persistence): about the last
  FLUSH_DELAY_SECONDS of items plus one flush — the same durability as the Celery queues themselves, hence
  `appendonly yes` on the broker. A clean shutdown saves them (RDB/AOF) and they flush after.
- readers see an item about FLUSH_DELAY_SECONDS after it was recorded (with no Celery worker running, at the
  next worker start or beat tick). A flush cut off by a Redis restart leaves its lock behind: the buffer then
  waits up to FLUSH_LOCK_SECONDS plus a beat tick (30 s).

Without a Redis broker (the eager, in-process Celery of the demo and the test settings) nothing is buffered:
`record` writes at once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

logger = logging.getLogger(__name__)

FLUSH_DELAY_SECONDS = 1.0
FLUSH_BATCH = 1000
# A flush that lost Redis mid-way (a restart) cannot release its lock; the lock then holds the buffer back this
# long. Renewed per batch, so it only needs to outlast one batch's write. If it expires under a slow write, the
# next flush writes the same processing list again (the write functions are replay-safe) and the slow flush
# stops: it deletes the processing list only while it still holds the lock.
FLUSH_LOCK_SECONDS = 30

# Atomically move up to ARGV[1] items from the buffer to the processing list (the flush's own copy).
_TAKE_BATCH_LUA = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
return items
"""

# The lock, if still this flush's (ARGV[1], its token): renewed for ARGV[2] seconds, or released when ARGV[2] is 0.
_LOCK_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return redis.call('DEL', KEYS[1])
"""

# Delete the processing list (KEYS[2]) only while the lock (KEYS[1]) is still this flush's (ARGV[1]).
_DONE_WITH_BATCH_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2])
return 1
"""

T = TypeVar("T", bound="DataclassInstance")

# Every flush task's Celery options: acknowledged late, retried on database errors, bounded in time.
FLUSH_TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": None,
    "time_limit": 300,
    "soft_time_limit": 270,
}


@functools.cache
def _broker_client() -> Any:
    url = str(settings.CELERY_BROKER_URL)
    if settings.CELERY_TASK_ALWAYS_EAGER or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def broker_client() -> Any:
    """The broker's Redis (persistent, noeviction in production), or None when nothing is buffered."""
    return _broker_client()


@dataclasses.dataclass(frozen=True)
class WriteBuffer(Generic[T]):
    name: str  # names the Redis keys: retailsite:<name>:buffer, :processing, :flush-lock
    item_type: type[T]  # a frozen dataclass of JSON values
    write: Callable[[Sequence[T]], object]  # stores a batch (see the module docstring for what it must do)
    flush_task: str  # dotted path of the Celery task that calls flush_now (queued when the list fills from empty)

    @property
    def buffer_key(self) -> str:
        return f"retailsite:{self.name}:buffer"

    @property
    def processing_key(self) -> str:
        return f"retailsite:{self.name}:processing"

    @property
    def lock_key(self) -> str:
        return f"retailsite:{self.name}:flush-lock"

    def encode(self, item: T) -> str:
        return json.dumps(dataclasses.asdict(item), separators=(",", ":"))

    def decode(self, raw: bytes | str) -> T:
        return self.item_type(**json.loads(raw))

    def record(self, *items: T) -> None:
        """Buffer the items (one RPUSH however many), or write them at once when they cannot be buffered (no Redis
        broker, Redis down)."""
        if items and not self.push(*items):
            self.write(list(items))

    def push(self, *items: T, client: Any = None) -> bool:
        """Append the items (and queue a flush if the list was empty); False if they could not be buffered."""
        client = client if client is not None else broker_client()
        if client is None:
            return False
        try:
            length = client.rpush(self.buffer_key, *(self.encode(item) for item in items))
        except Exception as error:  # Redis down or slow: the caller writes the items itself
            logger.warning("%s buffer unavailable (%s); writing directly", self.name, type(error).__name__)
            return False
        if length == len(items):
            self.queue_flush()
        return True

    def queue_flush(self) -> None:
        try:
            import_string(self.flush_task).apply_async(countdown=FLUSH_DELAY_SECONDS)
        except Exception as error:  # the beat safety net flushes within 30 s
            logger.warning("could not queue the %s flush (%s)", self.name, type(error).__name__)

    def take(self, client: Any, count: int) -> list[bytes]:
        """Move up to `count` items to the processing list, atomically; what a flush writes next."""
        script = client.register_script(_TAKE_BATCH_LUA)
        return list(script(keys=[self.buffer_key, self.processing_key], args=[count]))

    def flush_now(self, *, client: Any = None, max_batches: int = 1000) -> int | None:
        """Write buffered items to PostgreSQL until the list is empty; None if another flush holds the lock.

        Returns how many items were taken from Redis (written, dropped or already there).
        """
        client = client if client is not None else broker_client()
        if client is None:
            return 0
        token = secrets.token_hex(8)
        if not client.set(self.lock_key, token, nx=True, ex=FLUSH_LOCK_SECONDS):
            return None
        lock = client.register_script(_LOCK_LUA)
        taken = 0
        try:
            # A flush that died after taking its batch left it here: write it first.
            leftover = client.lrange(self.processing_key, 0, -1)
            if leftover:
                taken += len(leftover)
                if not self._write_processing(client, leftover, token):
                    return taken
            for _ in range(max_batches):
                if not lock(keys=[self.lock_key], args=[token, FLUSH_LOCK_SECONDS]):
                    logger.warning("%s flush lost its lock; the next flush goes on", self.name)
                    break
                batch = self.take(client, FLUSH_BATCH)
                if not batch:
                    break
                taken += len(batch)
                if not self._write_processing(client, batch, token):
                    break
        finally:
            lock(keys=[self.lock_key], args=[token, 0])
        return taken

    def _write_processing(self, client: Any, raw: Sequence[bytes], token: str) -> bool:
        """Write a batch, then drop the processing list; False if the lock expired meanwhile (stop flushing)."""
        self.write([self.decode(item) for item in raw])
        if client.register_script(_DONE_WITH_BATCH_LUA)(keys=[self.lock_key, self.processing_key], args=[token]):
            return True
        logger.warning("%s flush outlived its lock; the next flush writes its batch again", self.name)
        return False


def flush_task_run(task: Any, buffer: WriteBuffer[Any]) -> str:
    """The body of a buffer's flush task (`task` is the bound Celery task): flush, or look again shortly."""
    taken = buffer.flush_now()
    if taken is None:
        # Another flush is running; it may have passed the items pushed just now: look again shortly.
        raise task.retry(countdown=FLUSH_DELAY_SECONDS, max_retries=5)
    return f"{taken} {buffer.name} flushed"


def customers_still_consenting(customer_ids: Iterable[int]) -> set[int]:
    """Of these customers of the current store, those that still exist and still consent to personalization,
    share-locked until the caller's transaction ends (call it inside `transaction.atomic`).

    What a buffer holds was recorded with consent; by the time it is written the customer may have been erased
    (which withdraws consent and deletes their rows) or have withdrawn consent. The lock makes an erasure or a
    withdrawal that is under way wait for this write's commit (and then delete what it wrote), and one that
    committed before is seen here: a late write never brings back what was erased.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM commerce_customer WHERE id = ANY(%s) AND personalization_consent ORDER BY id FOR SHARE",
            [ids],
        )
        return {row[0] for row in cursor.fetchall()}
