"""PostgreSQL write path: COPY a spool into a temporary staging table, then upsert with SQL.

Every statement except COPY goes through Django's cursor, whose execute wrapper (the
project's tenancy backend) applies the tenant to the transaction, so row-level security
checks each row written. COPY goes through the underlying psycopg cursor into a
temporary table, which row-level security does not cover and which is dropped at commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from .spool import Spool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assign:
    """One target column of an upsert: the SQL that computes it (with its parameters), and
    whether an update of an existing row may change it."""

    column: str
    expression: str
    update: bool = True
    params: tuple[Any, ...] = ()


def defaults_for_unassigned(model: type[Model], assigned: set[str]) -> list[Assign]:
    """Model defaults for every column the import does not set (new rows only).

    Keeps raw INSERTs valid when another app adds a NOT NULL column with a default.
    """
    defaults = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.column in assigned:
            continue
        if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
            defaults.append(Assign(field.column, "now()", update=False))
        elif field.has_default() or field.null or field.empty_strings_allowed:
            value = field.get_db_prep_save(field.get_default(), connection)
            defaults.append(Assign(field.column, "%s", update=False, params=(value,)))
        else:
            raise ImproperlyConfigured(f"{model.__name__}.{field.name} has no default; the importer must set it")
    return defaults


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
        started = time.perf_counter()
        self.cursor.execute(sql, params)
        logger.debug("%.3f s  %s", time.perf_counter() - started, " ".join(sql.split())[:160])

    def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> tuple[Any, ...]:
        self.execute(sql, params)
        return self.cursor.fetchone()

    def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return self.cursor.fetchall()

    def stage(self, name: str, spool: Spool, *, phase: str | None = None) -> int:
        """Create temp table `name` with the spool's columns and COPY the spool into it."""
        columns = ", ".join(f"{quote(column)} {kind}" for column, kind in spool.columns)
        self.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.execute(f"CREATE TEMPORARY TABLE {quote(name)} ({columns}) ON COMMIT DROP")
        raw = self.cursor.cursor  # psycopg cursor: COPY is not available through Django's wrapper
        copied = 0
        total = spool.rows
        started = time.perf_counter()
        with raw.copy(f"COPY {quote(name)} FROM STDIN WITH (FORMAT csv)") as copy:
            for chunk in spool.chunks():
                copy.write(chunk)
                copied += chunk.count(b"\n")
                if phase and self.progress is not None:
                    self.progress(phase, min(copied, total), total)
        logger.debug("%.3f s  COPY %s rows into %s", time.perf_counter() - started, total, name)
        self.execute(f"ANALYZE {quote(name)}")
        return total

    def key_table(self, name: str, model: type[Model], external_ids: str, *, extra: Sequence[str] = ()) -> None:
        """Temp table `name` (external_id, id, *extra) of the tenant's `model` rows whose external id
        is among `external_ids` (a SELECT of staged ids).

        Staged rows then resolve external ids with a hash join against this small, analyzed
        table instead of probing the (possibly just loaded, not yet analyzed) model table
        once per row.
        """
        columns = "".join(f", m.{quote(column)}" for column in extra)
        self.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        self.execute(
            f"CREATE TEMPORARY TABLE {quote(name)} ON COMMIT DROP AS "
            f"SELECT m.external_id, m.id{columns} FROM {table(model)} m "
            f"WHERE m.tenant_id = %s AND m.external_id IN ({external_ids})",
            [self.tenant_id],
        )
        self.execute(f"ANALYZE {quote(name)}")

    def tenant(self, column: str = "tenant_id") -> Assign:
        return Assign(column, "%s", update=False, params=(self.tenant_id,))

    def upsert(self, *, target: type[Model], assignments: Sequence[Assign], source: str,
               conflict: Sequence[str], source_params: Sequence[Any] = ()) -> tuple[int, int]:
        """INSERT ... SELECT ... ON CONFLICT; returns (created, updated).

        Existing rows are rewritten only when a value really differs (IS DISTINCT FROM),
        so a repeated import writes nothing and reports no updates. Columns without an
        assignment get the model's default on insert.
        """
        assignments = [*assignments, *defaults_for_unassigned(target, {a.column for a in assignments})]
        params = [*(p for a in assignments for p in a.params), *source_params]
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
