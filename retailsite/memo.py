"""Per-process memos: the one helper for a value a process computes once and then reuses.

Each memo states the rule that keeps it right:
- `BoundedMemo`: keyed by everything the value depends on, so an entry can never be stale; it only has to stay
  small, so it is emptied whole when full (rendered fragments, reversed URLs);
- `ExpiringMemo`: a database or cache read that may be up to `max_age` seconds old in this process; `clear()` or
  `forget(key)` where a write in this process must be seen at once (the store and domain look-ups, cleared by the
  tenant signals; the active model version and running experiment, `safe_cache.cache_get_recent`).
What must agree across processes belongs in the cache framework (`retailsite.safe_cache`), not here; the
catalog snapshot and the live product state carry their own rule (the catalog version) in commerce.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()


class BoundedMemo(Generic[K, V]):
    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._values: dict[K, V] = {}

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            value = compute()
            if len(self._values) >= self.max_entries:
                self._values.clear()  # whole: cheaper than tracking use, and refilled by the next pages
            self._values[key] = value
        return value  # type: ignore[return-value]

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


class ExpiringMemo(Generic[K, V]):
    """`load()` results kept for `max_age` seconds. A None result is kept too only with `remember_none` (a host
    that maps to no store stays unmapped for a while); otherwise the next call asks again (a store created a
    moment later is found at once)."""

    def __init__(
        self,
        *,
        max_age: float,
        max_entries: int,
        remember_none: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_age <= 0 or max_entries < 1:
            raise ValueError("max_age must be positive and max_entries at least 1")
        self.max_age = max_age
        self.max_entries = max_entries
        self.remember_none = remember_none
        self._clock = clock
        self._values: dict[K, tuple[float, V | None]] = {}

    def get_or_load(self, key: K, load: Callable[[], V | None]) -> V | None:
        now = self._clock()
        cached = self._values.get(key)
        if cached is not None and now - cached[0] < self.max_age:
            return cached[1]
        value = load()
        if value is None and not self.remember_none:
            self._values.pop(key, None)
            return None
        if len(self._values) >= self.max_entries:
            self._values.clear()
        self._values[key] = (now, value)
        return value

    def forget(self, key: K) -> None:
        self._values.pop(key, None)

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
