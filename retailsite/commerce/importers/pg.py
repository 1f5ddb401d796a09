"""PostgreSQL write path: COPY a spool into a temporary staging table, then upsert with SQL.

Every statement except COPY goes through Django's cursor, whose execute wrapper (the
project's tenancy backend) applies the tenant to the transaction, so row-level security
checks each row written. COPY goes through the underlying psycopg cursor into a
temporary table, which row-level security does not cover and which is dropped at commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from .spool import Spool


@dataclass(frozen=True)
class Assign:
    """One target column of an upsert: the SQL that computes it, and whether an update may change it."""

    column: str
    expression: str
    update: bool = True


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


class PgSession:
    """Statements of one import transaction (call only inside transaction.atomic)."""

    def __init__(self, cursor: CursorWrapper, tenant_id: int,
                 progress: Callable[[str, int, int | None], None] | None = None) -> None:
        self.cursor = cursor
        self.tenant_id = tenant_id
        self.progress = progress

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        self.cursor.execute(sql, params)

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> tuple[Any, ...]:
        self.cursor.execute(sql, params)
        return self.cursor.fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self.cursor.execute(sql, params)
        return self.cursor.fetchall()

    def stage(self, name: str, spool: Spool, *, phase: str | None = None) -> int:
        """Create temp table `name` with the spool's columns and COPY the spool into it."""
        columns = ", ".join(f"{quote(column)} {kind}" for column, kind in spool.columns)
        self.execute(f"CREATE TEMPORARY TABLE {quote(name)} ({columns}) ON COMMIT DROP")
        raw = self.cursor.cursor  # psycopg cursor: COPY is not available through Django's wrapper
        copied = 0
        total = spool.rows
        with raw.copy(f"COPY {quote(name)} FROM STDIN WITH (FORMAT csv)") as copy:
            for chunk in spool.chunks():
                copy.write(chunk)
                copied += chunk.count(b"\n")
                if phase and self.progress is not None:
                    self.progress(phase, min(copied, total), total)
        self.execute(f"ANALYZE {quote(name)}")
        return total

    def upsert(self, *, target: type[Model], assignments: Sequence[Assign], source: str,
               conflict: Sequence[str], params: Sequence[Any] = ()) -> tuple[int, int]:
        """INSERT ... SELECT ... ON CONFLICT; returns (created, updated).

        Existing rows are rewritten only when a value really differs (IS DISTINCT FROM),
        so a repeated import writes nothing and reports no updates.
        """
        columns = ", ".join(quote(a.column) for a in assignments)
        expressions = ", ".join(a.expression for a in assignments)
        updatable = [quote(a.column) for a in assignments if a.update]
        if updatable:
            changes = ", ".join(f"{c} = EXCLUDED.{c}" for c in updatable)
            old = ", ".join(f"t.{c}" for c in updatable)
            new = ", ".join(f"EXCLUDED.{c}" for c in updatable)
            action = f"DO UPDATE SET {changes} WHERE ROW({old}) IS DISTINCT FROM ROW({new})"
        else:
            action = "DO NOTHING"
        sql = (
            f"WITH written AS (INSERT INTO {table(target)} AS t ({columns}) "
            f"SELECT {expressions} FROM {source} "
            f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) {action} "
            "RETURNING (t.xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
        )
        created, updated = self.fetchone(sql, params)
        return int(created), int(updated)
