"""Per-tenant locks so two runs of the same step for one store never overlap.

On PostgreSQL: a session-level advisory lock on a dedicated key. If the process dies, its
connection closes and the lock is released by the server — no stale lock to expire.
Elsewhere (the SQLite demo runs tasks in-process): a process-local lock.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _lock_key(tenant_id: int, name: str) -> int:
    # Two int4 keys would also do; one signed int8 keeps it a single argument.
    return (int(tenant_id) << 20) ^ zlib.crc32(name.encode()) & 0xFFFFF


@contextmanager
def tenant_lock(tenant_id: int, name: str) -> Iterator[bool]:
    """Yield True when the lock was taken, False when another run holds it (do not block)."""
    if connection.vendor != "postgresql":
        with _local_guard:
            lock = _local_locks.setdefault(f"{tenant_id}:{name}", threading.Lock())
        acquired = lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()
        return
    key = _lock_key(tenant_id, name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
