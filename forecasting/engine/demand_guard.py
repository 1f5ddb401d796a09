"""A guard that reins in forecast paths leaving what the history makes plausible.

A model can extrapolate a trend (or a multiplicative season on a growing level) into a path that grows, or shrinks,
faster than the series ever did: a P50 two to four times last year's demand on a series that never grew more than
30% a year. The guard compares each path with the seasonal naive of lag ``L`` (the season, or the horizon for series
without one), block by block (``L`` periods each), and measures the history's own range of such ratios: the sum of
every window of ``W = min(horizon, L)`` periods over the sum of the window ``L`` periods before it. A block ``b``
(0-based) may grow at most ``(largest ratio seen * slack) ** (b + 1)`` over the seasonal naive and shrink at most to
``(smallest ratio seen / slack) ** (b + 1)``; a block outside is scaled back onto that bound, which keeps its shape
(the season) and only changes its level. Flat (ratio 1) is always allowed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

GUARD_SLACK = 1.2  # beyond the most extreme growth seen; chosen on the design half of bench_forecasting's suite


def guard_lag(season_length: int, horizon: int) -> int:
    return season_length if season_length > 1 else horizon


def growth_bounds(
    history: FloatArray, season_length: int, horizon: int, slack: float = GUARD_SLACK
) -> tuple[float, float]:
    """(lowest, highest) plausible ratio of a window's sum to the same window one lag earlier; (0, inf) if unknown."""
    lag = guard_lag(season_length, horizon)
    window = min(horizon, lag)
    n = len(history)
    if n < lag + window:
        return 0.0, np.inf
    sums = np.convolve(history, np.ones(window), mode="valid")  # sums[i] = history[i : i + window].sum()
    later, earlier = sums[lag:], sums[: len(sums) - lag]
    usable = earlier > 0
    if not usable.any():
        return 0.0, np.inf
    ratios = later[usable] / earlier[usable]
    return min(float(ratios.min()) / slack, 1.0), max(float(ratios.max()) * slack, 1.0)


def reference_path(history: FloatArray, lag: int, horizon: int) -> FloatArray:
    """The seasonal naive of lag ``lag`` (the last ``lag`` values repeated)."""
    return np.resize(history[-lag:], horizon).astype(float)


def rein_in(
    paths: FloatArray, history: FloatArray, season_length: int, slack: float = GUARD_SLACK
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Paths (candidates, horizon) of one series brought inside the plausible growth; also which were changed."""
    paths = np.asarray(paths, dtype=float)
    horizon = paths.shape[-1]
    lag = guard_lag(season_length, horizon)
    low, high = growth_bounds(history, season_length, horizon, slack)
    if len(history) < lag or (low == 0.0 and high == np.inf):
        return paths, np.zeros(paths.shape[:-1], dtype=bool)
    reference = reference_path(history, lag, horizon)
    out = paths.copy()
    changed = np.zeros(paths.shape[:-1], dtype=bool)
    for block, start in enumerate(range(0, horizon, lag)):
        stop = min(start + lag, horizon)
        base = float(reference[start:stop].sum())
        if base <= 0:
            continue
        total = np.nansum(out[..., start:stop], axis=-1)
        ratio = total / base
        upper, lower = high ** (block + 1), low ** (block + 1)
        factor = np.where(ratio > upper, upper / np.maximum(ratio, 1e-300), 1.0)
        factor = np.where((ratio < lower) & (total > 0), lower / np.maximum(ratio, 1e-300), factor)
        out[..., start:stop] *= factor[..., None]
        changed |= factor != 1.0
    return out, changed
