"""Plain SQL for the small look-ups of every request, beside `bulk.py` (the big writes).

Building an ORM query costs more than running these; they go through Django's connection, so the tenancy
backend applies the tenant (row-level security on) as it does for every query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection

Params = Mapping[str, Any] | Sequence[Any]


def fetchall(sql: str, params: Params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetchone_prepared(sql: str, params: Params) -> tuple | None:
    """One row of a hot query as a prepared statement, so PostgreSQL plans it once per connection.

    Django's PostgreSQL cursors bind parameters on the client, which rules out prepared statements;
    planning this query (row-level security included) costs more than running it. When the
    deployment allows prepared statements (DATABASE_PREPARE_THRESHOLD, i.e. no transaction pooler
    that cannot carry them) and we are inside the request's transaction, the query goes through a
    server-side-binding cursor on the same connection, after the tenancy backend applied the tenant
    (and actor) as its execute wrapper does for every query; otherwise it takes Django's ordinary path.
    """
    apply = getattr(connection, "apply_tenant_setting", None)
    connection.ensure_connection()
    if (
        apply is None
        or not connection.in_atomic_block
        or getattr(connection.connection, "prepare_threshold", None) is None
    ):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    apply()
    started = time.perf_counter()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if connection.queries_logged:  # as Django's debug cursor does, so query counts stay honest
        connection.queries_log.append({"sql": sql, "time": f"{time.perf_counter() - started:.3f}"})
    return row


def json_value(value: object) -> Any:  # parsed JSON: whatever the column held
    """A json/jsonb column's value: Django's PostgreSQL backend hands them over as text (JSONField decodes itself)."""
    return json.loads(value) if isinstance(value, str | bytes) else value
