"""A global model: one gradient-boosting regressor over every product of a store, a candidate beside the local ones.

Local models (``demand_models``) see one series each; a store's products share patterns one series cannot show
(a yearly season learned from the older products, a category's recent swing, what a running promotion does). The
global model learns them: scikit-learn's ``HistGradientBoostingRegressor`` (median loss) on, per product, forecast
origin and step ahead:

- the product's last 8 periods, its means over the last 4, 13 and 52 periods, the same period a season earlier
  (raw and over 3 periods), all divided by its mean over the 26 periods before the origin (the target is divided
  by the same level, so that one model serves products selling 1 or 1,000 units);
- the store's and the product's category's seasonal index: their demand a season before the target period over
  their demand in the 4 periods a season before the origin;
- calendar: the target period's position in the season (week of the year, day of the week) and, for weeks, its
  month; the step ahead; the product's age in periods;
- the last price paid over the product's mean price (a promotion running at the origin); the category.

It is fitted twice per store and run: on targets before the oldest backtest origin (its backtest then rolls forward
over the same origins as the local models', without refitting, like theirs) and on everything (the forecast).
:func:`fit_global_model` returns per series the future path and the backtest paths by distance from the series'
end; the engine (``forecast``) serves the global model only where its backtest erred less than the local
combination's, with bands from its own backtest errors.

scikit-learn is imported when the model is fitted, so importing the engine stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Key = TypeVar("Key", bound=Hashable)

GLOBAL_METHOD = "global_gbm"
N_LAGS = 8
LEVEL_WINDOW = 26  # periods behind the scale of the features and of the target
MIN_ORIGIN = 4  # periods of a product's own sales before an origin counts
MAX_TRAINING_ROWS = 150_000  # sampled (seeded) beyond this: the fit stays within a minute or two of CPU
MIN_TRAINING_ROWS = 500  # fewer rows before the oldest backtest origin: no global model
MAX_CATEGORY_CODES = 250  # HistGradientBoosting's categorical features take fewer codes than its 255 bins
SEED = 0


@dataclass(frozen=True)
class GlobalSeries:
    """One product for the global model: demand oldest first (zeros before its first sale do not count)."""

    demand: npt.ArrayLike
    prices: npt.ArrayLike | None = None
    category: Hashable | None = None
    last_period_start: dt.date | pd.Timestamp | None = None


@dataclass(frozen=True)
class GlobalPaths:
    """The global model's forecasts of one series: the future, and backtest paths keyed by distance from the end.

    ``backtest[d]`` forecasts the ``horizon`` periods that start ``d`` periods before the series' end, by the fit on
    targets before the oldest backtest origin, from the data before that origin only. Missing: no forecast there.
    """

    future: FloatArray
    backtest: Mapping[int, FloatArray]


@dataclass(frozen=True)
class GlobalModelSettings:
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 40
    l2_regularization: float = 1.0


def season_positions(n: int, horizon: int, season_length: int, last_period_start: dt.date | None) -> IntArray:
    """Each of ``n`` periods' (and the ``horizon`` next ones') position in the season: week of the year (52), day of
    the week (7), month (12); counted from the first period when the date is unknown."""
    last = (n - 1) % season_length
    if last_period_start is not None:
        day = pd.Timestamp(last_period_start)
        if season_length == 52:
            last = min(int(day.isocalendar().week) - 1, 51)
        elif season_length == 7:
            last = int(day.dayofweek)
        elif season_length == 12:
            last = int(day.month) - 1
    return (np.arange(n + horizon, dtype=np.int64) - (n - 1) + last) % season_length


def _running(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Cumulative sums and counts of the non-NaN values along the last axis, with a leading 0."""
    pad = np.zeros((*values.shape[:-1], 1))
    return (
        np.concatenate([pad, np.cumsum(np.nan_to_num(values), axis=-1)], axis=-1),
        np.concatenate([pad, np.cumsum(~np.isnan(values), axis=-1)], axis=-1),
    )


class _Panel:
    """The store's series aligned on their last period (columns), NaN before each one's first sale."""

    def __init__(self, series: Sequence[GlobalSeries], season_length: int, horizon: int) -> None:
        self.season = season_length
        self.horizon = horizon
        self.width = max(len(np.ravel(s.demand)) for s in series)
        n, width = len(series), self.width
        self.values = np.full((n, width), np.nan)
        self.prices = np.full((n, width), np.nan)
        self.positions = np.zeros((n, width + horizon), dtype=np.int64)
        self.first = np.full(n, width, dtype=np.int64)
        sizes: dict[Hashable, int] = {}
        for item in series:
            sizes[item.category] = sizes.get(item.category, 0) + 1
        ranked = sorted(sizes, key=lambda category: (-sizes[category], str(category)))
        codes = {category: min(rank, MAX_CATEGORY_CODES) for rank, category in enumerate(ranked)}
        self.category = np.asarray([codes[s.category] for s in series], dtype=np.int64)
        for i, item in enumerate(series):
            demand = np.clip(np.nan_to_num(np.asarray(item.demand, dtype=float).ravel(), nan=0.0), 0.0, None)
            start = width - len(demand)
            sold = np.flatnonzero(demand > 0)
            if len(sold):
                self.first[i] = start + int(sold[0])
                self.values[i, self.first[i] :] = demand[int(sold[0]) :]
            if item.prices is not None:
                prices = np.asarray(item.prices, dtype=float).ravel()
                self.prices[i, start:] = np.where(prices > 0, prices, np.nan)
            self.positions[i, start:] = season_positions(len(demand), horizon, season_length, item.last_period_start)
        self.cumulative, self.counts = _running(self.values)
        self.price_cumulative, self.price_counts = _running(self.prices)
        sold_units = np.nan_to_num(self.values)
        groups = np.zeros((int(self.category.max()) + 1, width))
        np.add.at(groups, self.category, sold_units)
        self.store = sold_units.sum(axis=0)
        self.store_cumulative, _ = _running(self.store)
        self.category_totals = groups
        self.category_cumulative, _ = _running(groups)

    def mean_before(self, rows: IntArray, ends: IntArray, length: int) -> FloatArray:
        """Each row's mean over the ``length`` columns before its end column (NaN without data)."""
        starts = np.clip(ends - length, 0, None)
        total = self.cumulative[rows, ends] - self.cumulative[rows, starts]
        count = self.counts[rows, ends] - self.counts[rows, starts]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(count > 0, total / count, np.nan)

    def price_ratio(self, rows: IntArray, ends: IntArray) -> FloatArray:
        """The last price paid before each origin over the mean price of the ``LEVEL_WINDOW`` periods before it."""
        starts = np.clip(ends - LEVEL_WINDOW, 0, None)
        total = self.price_cumulative[rows, ends] - self.price_cumulative[rows, starts]
        count = self.price_counts[rows, ends] - self.price_counts[rows, starts]
        last = self.prices[rows, np.clip(ends - 1, 0, None)]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(count > 0, last / (total / count), np.nan)

    def seasonal_index(self, groups: IntArray | None, targets: IntArray, origins: IntArray) -> FloatArray:
        """An aggregate (the store's, or each row's category's) a season before the target over its mean in the 4
        periods a season before the origin."""
        totals, cumulative = (
            (self.store[None, :], self.store_cumulative[None, :])
            if groups is None
            else (self.category_totals, self.category_cumulative)
        )
        which = np.zeros(len(targets), dtype=np.int64) if groups is None else groups
        before, base_end = targets - self.season, origins - self.season
        valid = (before >= 0) & (before < origins) & (base_end >= 4)  # a horizon beyond a season: no future
        at = np.clip(before, 0, self.width - 1)
        end = np.clip(base_end, 4, self.width)
        numerator = totals[which, at]
        base = (cumulative[which, end] - cumulative[which, end - 4]) / 4.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(valid & (base > 0), numerator / base, np.nan)


def _features(panel: _Panel, rows: IntArray, origins: IntArray, steps: IntArray) -> tuple[FloatArray, FloatArray]:
    """Features and level (the scale) of (series row, origin column, step ahead) triples; origins <= width."""
    level = panel.mean_before(rows, origins, LEVEL_WINDOW)
    values, season = panel.values, panel.season
    targets = origins + steps - 1
    last_season = targets - season

    def value_at(columns: IntArray, valid: npt.NDArray[np.bool_]) -> FloatArray:
        return np.where(valid, values[rows, np.clip(columns, 0, panel.width - 1)], np.nan)

    columns: list[FloatArray] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for lag in range(1, N_LAGS + 1):
            columns.append(value_at(origins - lag, origins - lag >= 0) / level)
        for length in (4, 13, 52):
            columns.append(panel.mean_before(rows, origins, length) / level)
        columns.append(value_at(last_season, (last_season >= 0) & (last_season < origins)) / level)
        around = np.stack(
            [value_at(last_season + d, (last_season + d >= 0) & (last_season + d < origins)) for d in (-1, 0, 1)]
        )
        present = (~np.isnan(around)).sum(axis=0)
        columns.append(np.where(present > 0, np.nansum(around, axis=0) / np.maximum(present, 1), np.nan) / level)
    category = panel.category[rows]
    columns.append(panel.seasonal_index(None, targets, origins))
    columns.append(panel.seasonal_index(category, targets, origins))
    position = panel.positions[rows, targets].astype(float)
    columns.append(position)
    columns.append(np.floor(position * 12 / season) if season == 52 else np.zeros(len(rows)))
    columns.append(steps.astype(float))
    columns.append(np.minimum(origins - panel.first[rows], 2 * season).astype(float))
    columns.append(panel.price_ratio(rows, origins))
    columns.append(category.astype(float))  # last: the categorical feature
    return np.column_stack(columns), level


def _training_triples(panel: _Panel, target_end: int, rng: np.random.Generator) -> tuple[IntArray, IntArray, IntArray]:
    """(row, origin, step) of every target before column ``target_end``, sampled down to ``MAX_TRAINING_ROWS``."""
    origin_grid = np.arange(panel.width)
    parts = []
    for step in range(1, panel.horizon + 1):
        valid = (origin_grid[None, :] - panel.first[:, None] >= MIN_ORIGIN) & (
            origin_grid[None, :] + step - 1 < target_end
        )
        rows, origins = np.nonzero(valid)
        parts.append((rows, origins, np.full(len(rows), step)))
    total = sum(len(p[0]) for p in parts)
    keep = min(1.0, MAX_TRAINING_ROWS / max(total, 1))
    out_rows, out_origins, out_steps = [], [], []
    for rows, origins, steps in parts:
        if keep < 1.0:
            chosen = rng.random(len(rows)) < keep
            rows, origins, steps = rows[chosen], origins[chosen], steps[chosen]
        out_rows.append(rows)
        out_origins.append(origins)
        out_steps.append(steps)
    return (
        np.concatenate(out_rows).astype(np.int64),
        np.concatenate(out_origins).astype(np.int64),
        np.concatenate(out_steps).astype(np.int64),
    )


@dataclass(frozen=True)
class _Fitted:
    model: Any  # a fitted HistGradientBoostingRegressor
    columns: npt.NDArray[np.bool_]  # the features it was fitted on (the others never varied in training)


def _fit(panel: _Panel, target_end: int, settings: GlobalModelSettings) -> _Fitted | None:
    """One fit on the targets before column ``target_end``; None with too few usable rows."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rows, origins, steps = _training_triples(panel, target_end, np.random.default_rng(SEED))
    features, level = _features(panel, rows, origins, steps)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = panel.values[rows, origins + steps - 1] / level
    usable = np.isfinite(target) & np.isfinite(level) & (level > 0)
    if usable.sum() < MIN_TRAINING_ROWS:
        return None
    features, target = features[usable], target[usable]
    # A feature that never varies (no prices, no season before the oldest origin) says nothing: left out.
    columns = np.asarray([len(np.unique(f[np.isfinite(f)])) > 1 for f in features.T])
    columns[-1] = True  # the category, categorical: one code is fine
    model = HistGradientBoostingRegressor(
        loss="quantile",
        quantile=0.5,
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization,
        categorical_features=[int(columns.sum()) - 1],
        early_stopping=False,
        random_state=SEED,
    )
    return _Fitted(model.fit(features[:, columns], target), columns)


def _predict(fitted: _Fitted, panel: _Panel, origin: int) -> FloatArray:
    """Paths (series, horizon) from one origin column; NaN for series with too little own history there."""
    n, horizon = len(panel.first), panel.horizon
    rows = np.repeat(np.arange(n, dtype=np.int64), horizon)
    steps = np.tile(np.arange(1, horizon + 1, dtype=np.int64), n)
    origins = np.full(len(rows), origin, dtype=np.int64)
    features, level = _features(panel, rows, origins, steps)
    predicted = np.clip(fitted.model.predict(features[:, fitted.columns]), 0.0, None) * np.nan_to_num(level)
    paths = predicted.reshape(n, horizon)
    paths[origin - panel.first < MIN_ORIGIN] = np.nan
    return paths


def fit_global_model(
    series: Mapping[Key, GlobalSeries],
    *,
    season_length: int,
    horizon: int,
    distances: Sequence[int],
    settings: GlobalModelSettings | None = None,
) -> dict[Key, GlobalPaths] | None:
    """Fit the store's global model twice (before the oldest backtest origin, and on everything) and forecast.

    ``distances``: the backtest origins, as periods before the series' end (the local models' windows). Returns
    None when the data before the oldest origin is too thin for a fit.
    """
    settings = settings or GlobalModelSettings()
    if not series:
        return None
    keys = list(series)
    panel = _Panel([series[k] for k in keys], season_length, horizon)
    distances = sorted({int(d) for d in distances if horizon <= d < panel.width})
    backtest: dict[int, FloatArray] = {}
    if distances:
        early = _fit(panel, panel.width - max(distances), settings)
        if early is None:
            return None
        backtest = {d: _predict(early, panel, panel.width - d) for d in distances}
    model = _fit(panel, panel.width, settings)
    if model is None:
        return None
    future = _predict(model, panel, panel.width)
    return {
        key: GlobalPaths(
            future=np.nan_to_num(future[i]),
            backtest={d: paths[i] for d, paths in backtest.items() if not np.isnan(paths[i]).any()},
        )
        for i, key in enumerate(keys)
    }
