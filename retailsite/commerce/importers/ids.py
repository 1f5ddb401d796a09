"""External id -> row look-ups for the current tenant, in batches (for writers that work through the ORM)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from django.db.models import Model

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
