"""Bulk writes of many rows with COPY.

Used where a training run writes tens of thousands of rows (precomputed lists, forecasts).
Rows go into the current tenant (row-level security checks every one of them).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models, transaction

from retailsite.tenancy.context import require_tenant_id


def bulk_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    json_columns: Sequence[str] = (),
) -> int:
    """Insert rows (tuples in `columns` order, FK columns as `<name>_id`) for the current tenant."""
    tenant_id = require_tenant_id()
    json_positions = {columns.index(name) for name in json_columns}
    table = model._meta.db_table
    column_list = ", ".join(f'"{model._meta.get_field(c).column}"' for c in columns)  # type: ignore[union-attr]
    count = 0
    staging = f"_bulk_{table}"
    # COPY cannot write into a table under row-level security: stage in a temporary table (not
    # under RLS), then INSERT ... SELECT, which the policy checks row by row.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMP TABLE "{staging}" ON COMMIT DROP AS '
            f'SELECT tenant_id, {column_list} FROM "{table}" WITH NO DATA'
        )
        with cursor.cursor.copy(f'COPY "{staging}" (tenant_id, {column_list}) FROM STDIN') as copy:
            for row in rows:
                values = [json.dumps(v) if i in json_positions else v for i, v in enumerate(row)]
                copy.write_row([tenant_id, *values])
                count += 1
        cursor.execute(
            f'INSERT INTO "{table}" (tenant_id, {column_list}) SELECT tenant_id, {column_list} FROM "{staging}"'
        )
        cursor.execute(f'DROP TABLE "{staging}"')
    return count
