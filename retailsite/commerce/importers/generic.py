"""Database-agnostic write path (SQLite, used by `make demo`): Django bulk operations in batches.

Simpler and slower than the PostgreSQL COPY path, but with the same results and counts:
existing rows are compared in Python, and only new or changed rows are sent to
`bulk_create(update_conflicts=True)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from django.db.models import Model

from retailsite.tenancy.context import require_tenant_id

BATCH_SIZE = 500
T = TypeVar("T")


def batched(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def id_map(model: type[Model], external_ids: Iterable[str], *, value: str = "id") -> dict[str, Any]:
    """external_id -> `value` for the current tenant's rows among `external_ids`."""
    found: dict[str, Any] = {}
    for batch in batched(set(external_ids)):
        found.update(model._default_manager.filter(external_id__in=batch).values_list("external_id", value))
    return found


def orm_upsert(
    model: type[Model], rows: Iterable[dict[str, Any]], *, key: Sequence[str], update: Sequence[str]
) -> tuple[int, int, int]:
    """Insert new rows, update changed ones (only `update` fields), skip the rest.

    `rows` are dicts of attribute names (`order_id`, not `order`); a key repeated within
    `rows` counts as unchanged. Returns (created, updated, unchanged).
    """
    tenant_id = require_tenant_id()
    created = updated = unchanged = 0
    seen: set[tuple[Any, ...]] = set()
    for batch in batched(rows):
        first = key[0]
        existing = {
            tuple(found[name] for name in key): found
            for found in model._default_manager.filter(**{f"{first}__in": {row[first] for row in batch}}).values(
                *key, *update
            )
        }
        changed: list[Model] = []
        new: list[Model] = []
        for row in batch:
            identity = tuple(row[name] for name in key)
            if identity in seen:
                unchanged += 1
                continue
            seen.add(identity)
            old = existing.get(identity)
            if old is None:
                created += 1
                new.append(model(tenant_id=tenant_id, **row))
            elif any(old[name] != row[name] for name in update):
                updated += 1
                changed.append(model(tenant_id=tenant_id, **row))
            else:
                unchanged += 1
        if new:
            model._default_manager.bulk_create(new)
        if changed:
            model._default_manager.bulk_create(
                changed, update_conflicts=True, unique_fields=["tenant", *key], update_fields=list(update)
            )
    return created, updated, unchanged
