"""Per-tenant locks so two runs of the same step for one store never overlap.

A session-level PostgreSQL advisory lock on a dedicated key. If the process dies, its connection
closes and the lock is released by the server — no stale lock to expire.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def _lock_key(tenant_id: int, name: str) -> int:
    # Two int4 keys would also do; one signed int8 keeps it a single argument.
    return (int(tenant_id) << 20) ^ zlib.crc32(name.encode()) & 0xFFFFF


@contextmanager
def tenant_lock(tenant_id: int, name: str) -> Iterator[bool]:
    """Yield True when the lock was taken, False when another run holds it (do not block)."""
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
