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
        if field.primary_key or field.column is None or field.column in assigned:
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

    def __init__(
        self, cursor: CursorWrapper, tenant_id: int, progress: Callable[[str, int, int | None], None] | None = None
    ) -> None:
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

    def key_table(
        self,
        name: str,
        model: type[Model],
        ids: str,
        *,
        key: str = "external_id",
        extra: Sequence[str] = (),
        complete: bool = False,
    ) -> None:
        """Temp table `name` (key, id, *extra) of the tenant's `model` rows whose `key` is among
        `ids` (a SELECT of staged values). With `complete`, only the ids missing from an
        existing `name` (filled by upsert(keys_into=...)) are looked up and added.

        Each distinct staged value is looked up once through the (tenant_id, key) unique
        index: the LATERAL ... LIMIT 1 keeps that plan whatever the statistics say, which
        matters because the tables were often just written in this very transaction and
        have no statistics yet. Staged rows then resolve their keys with a hash join
        against this small, analyzed table.
        """
        columns = "".join(f", k.{quote(column)}" for column in extra)
        missing = ""
        if complete:
            missing = f" AND NOT EXISTS (SELECT 1 FROM {quote(name)} known WHERE known.{quote(key)} = staged.value)"
        lookup = (
            f"SELECT s.value AS {quote(key)}, k.id{columns} "
            f"FROM (SELECT DISTINCT staged.value FROM ({ids}) AS staged(value) "
            f"WHERE staged.value IS NOT NULL{missing}) s "
            f"CROSS JOIN LATERAL (SELECT m.* FROM {table(model)} m "
            f"WHERE m.tenant_id = %s AND m.{quote(key)} = s.value LIMIT 1) k"
        )
        if complete:
            self.execute(f"INSERT INTO {quote(name)} ({quote(key)}, id) {lookup}", [self.tenant_id])
        else:
            self.execute(f"DROP TABLE IF EXISTS {quote(name)}")
            self.execute(f"CREATE TEMPORARY TABLE {quote(name)} ON COMMIT DROP AS {lookup}", [self.tenant_id])
        self.execute(f"ANALYZE {quote(name)}")

    def tenant(self, column: str = "tenant_id") -> Assign:
        return Assign(column, "%s", update=False, params=(self.tenant_id,))

    def upsert(
        self,
        *,
        target: type[Model],
        assignments: Sequence[Assign],
        source: str,
        conflict: Sequence[str],
        source_params: Sequence[Any] = (),
        order_by: str = "",
        keys_into: str | None = None,
    ) -> tuple[int, int]:
        """INSERT ... SELECT ... ON CONFLICT; returns (created, updated).

        Existing rows are rewritten only when a value really differs (IS DISTINCT FROM),
        so a repeated import writes nothing and reports no updates. Columns without an
        assignment get the model's default on insert. With `keys_into`, the external ids
        and primary keys of the rows written are kept in that temp table (see key_table).
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
        insert = (
            f"INSERT INTO {table(target)} AS t ({columns}) "
            f"SELECT {expressions} FROM {source} {f'ORDER BY {order_by}' if order_by else ''} "
            f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) {action} "
        )
        if keys_into is None:
            sql = (
                f"WITH written AS ({insert} RETURNING (t.xmax = 0) AS inserted) "
                "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written"
            )
            created, updated = self.fetchone(sql, params)
            return int(created), int(updated)
        self.execute(f"DROP TABLE IF EXISTS {quote(keys_into)}")
        self.execute(
            f"CREATE TEMPORARY TABLE {quote(keys_into)} (external_id text, id bigint, inserted boolean) ON COMMIT DROP"
        )
        self.execute(
            f"WITH written AS ({insert} RETURNING t.external_id, t.id, (t.xmax = 0) AS inserted) "
            f"INSERT INTO {quote(keys_into)} SELECT * FROM written",
            params,
        )
        self.execute(f"ANALYZE {quote(keys_into)}")
        created, updated = self.fetchone(
            f"SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM {quote(keys_into)}"
        )
        return int(created), int(updated)
