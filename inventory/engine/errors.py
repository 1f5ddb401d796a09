"""The one exception the inventory engine raises for malformed input (NaN, negative costs, unordered quantiles, ...).

Economically infeasible but well-formed problems (a mandatory minimum order that does not fit the budget) are not
errors: the optimizer returns a result whose ``status`` is ``"infeasible"`` and whose ``message`` explains why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


class InventoryInputError(ValueError):
    """Input the engine cannot plan from; the message says what is wrong and for which products."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def describe_offenders(mask: npt.ArrayLike, product_ids: Sequence[str] | np.ndarray, limit: int = 5) -> str:
    """Name the first few products flagged by ``mask`` so a message points at the rows to fix."""
    positions = np.flatnonzero(mask)
    names = [str(product_ids[i]) for i in positions[:limit]]
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return ", ".join(names) + more


def collect_array_problems(
    checks: Sequence[tuple[str, np.ndarray, str]],
    product_ids: Sequence[str] | np.ndarray,
) -> list[str]:
    """Evaluate ``(field, values, rule)`` checks; rule is one of ``finite``, ``>=0``, ``>0``, ``[0,1]``."""
    problems: list[str] = []
    for field, values, rule in checks:
        values = np.asarray(values, dtype=float)
        flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[:, None]
        not_finite = ~np.isfinite(flat).all(axis=1)
        if not_finite.any():
            offenders = describe_offenders(not_finite, product_ids)
            problems.append(f"{field} is missing or not a finite number for {offenders}")
        with np.errstate(invalid="ignore"):
            if rule == ">=0":
                bad_cells = flat < 0
                wording = "must not be negative"
            elif rule == ">0":
                bad_cells = flat <= 0
                wording = "must be greater than zero"
            elif rule == "[0,1]":
                bad_cells = (flat <= 0) | (flat >= 1)
                wording = "must be strictly between 0 and 1"
            else:
                continue
        bad = bad_cells.any(axis=1)
        if bad.any():
            example = flat[bad_cells][0]
            problems.append(f"{field} {wording} (got {example:g}) for {describe_offenders(bad, product_ids)}")
    return problems
