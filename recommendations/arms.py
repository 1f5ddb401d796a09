"""Where online experiments plug into serving and training (the experiments app registers itself here).

Serving asks `experiment_arm(customer_id, session_id)` once per "recommended for you" list: an arm, when the
store runs an experiment, says which model version and rule settings this shopper gets and is named in the
list's `recommendation_id`. A request serving many shoppers (the API's batch) opens `experiment_batch()` around
them: the running experiment is read once and the exposures are recorded together when the block ends.
Training asks `pinned_version_ids()` so it never prunes a version an experiment serves.
Without the experiments app installed every answer is "no experiment".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .serving import Filters


@dataclass(frozen=True)
class ServingArm:
    label: str  # "e<experiment id><arm key>", e.g. "e3b": the middle part of the recommendation id
    model_version_id: int | None  # None: the store's active version
    max_per_category: int | None = None  # None: the store's setting
    exclude_purchased: bool | None = None

    def filters(self, filters: Filters) -> Filters:
        """The caller's filters with the arm's rule settings where the caller left the store's default."""
        changes: dict[str, Any] = {}
        if filters.max_per_category is None and self.max_per_category is not None:
            changes["max_per_category"] = self.max_per_category
        if filters.include_purchased is None and self.exclude_purchased is not None:
            changes["include_purchased"] = not self.exclude_purchased
        return replace(filters, **changes) if changes else filters

    def name(self, recommendation_id: str) -> str:
        """'v12-<hex>' -> 'v12-e3b-<hex>': the version stays first, so attribution by version still works."""
        head, _, tail = recommendation_id.partition("-")
        return f"{head}-{self.label}-{tail}"


Chooser = Callable[[int | None, str], ServingArm | None]
_chooser: Chooser | None = None
_running: Callable[[], bool] | None = None
_pinned: Callable[[], set[int]] | None = None
_batch: Callable[[], AbstractContextManager[object]] | None = None
_suspended: ContextVar[bool] = ContextVar("experiments_suspended", default=False)


def register_experiments(
    *,
    choose: Chooser,
    running: Callable[[], bool],
    pinned_versions: Callable[[], set[int]],
    batch: Callable[[], AbstractContextManager[object]] | None = None,
) -> None:
    global _chooser, _running, _pinned, _batch
    _chooser, _running, _pinned, _batch = choose, running, pinned_versions, batch


def experiment_batch() -> AbstractContextManager[object]:
    """Around the lists of many shoppers in one request: one look-up of the running experiment, one write of
    their exposures (at the end of the block)."""
    if _batch is None or _suspended.get():
        return nullcontext()
    return _batch()


def experiment_arm(customer_id: int | None, session_id: str) -> ServingArm | None:
    """The arm this shopper is in (recording the exposure), or None: no experiment running, or none applies."""
    if _chooser is None or _suspended.get():
        return None
    return _chooser(customer_id, session_id)


def experiments_running() -> bool:
    return _running is not None and not _suspended.get() and _running()


def pinned_version_ids() -> set[int]:
    return _pinned() if _pinned is not None else set()


@contextmanager
def without_experiments() -> Iterator[None]:
    """Serve as if no experiment ran (exports and other batch work are not shoppers)."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)
