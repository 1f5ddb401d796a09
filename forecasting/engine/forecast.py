"""Demand forecasting for many series at once: P10/P50/P90 per future period, the method used, backtest figures.

Entry point: :func:`forecast_many` (and :func:`forecast_demand` for one series). The same call forecasts products,
categories and store totals: the caller passes each level's series under its own key. Every series is routed:

- **regular** (ADI/CV² class smooth or erratic): statsforecast's AutoETS, AutoTheta, AutoCES and MSTL on the raw and
  on the log scale (multiplicative seasonality and trend), or, for 52-week seasons, AutoETS and AutoCES on the log
  series with a Fourier season removed; plus the seasonal naive. Every candidate path is reined in by the growth
  guard (``demand_guard``); the best 3 by rolling-origin backtest error are combined with inverse-error weights
  (``demand_ensemble``; the median of the models no worse than the seasonal naive is available by name). With
  ``serve_naive_when_better`` (the layer sets it for aggregates) the seasonal naive is served where it erred less in
  that backtest, with the reason in ``notes``. Quantiles come from the backtest errors (``demand_quantiles``).
  Series shorter than two seasons get non-seasonal models, on the history divided by their reference's (category's)
  yearly season when the reference covers two seasons.
  Weekly and daily stores: given ``global_paths`` (:func:`global_model_paths`, the store's gradient-boosting model
  over all its products, ``demand_global``), a series takes the global model instead where its backtest erred less
  over the same windows, with bands from its own backtest errors and the reason in ``notes``.
- **intermittent** (intermittent or lumpy): Croston/SBA, TSB, ADIDA and IMAPA combined the same way (by squared
  error), with hurdle-model quantiles around the forecast rate.
- **new product** (fewer than ``min_history`` periods since the first sale, and the caller gave the category's
  aggregate history or similar products' histories): the reference is forecast like any series and scaled by the
  product's share of it.
- **short history** without a reference: the mean of the history, with count quantiles; **no demand**: zeros.

All series of one route and season go through one batch of statsforecast calls (a long data frame, ``n_jobs``
processes), not a Python loop of fits. A seasonal naive forecast is always computed beside the chosen one, with its
own backtest figures, so staff can see what the method adds. Given prices, each series also gets a price elasticity
(``demand_price``), and :func:`what_if_price_change` rescales a forecast for a price change.

Inputs are arrays of demand per period (oldest first, the last element the latest complete period); NaN counts as
no demand and negative values (net returns) as zero.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.engine.demand_classify import (
    ADI_THRESHOLD,
    CV2_THRESHOLD,
    DemandPattern,
    classify_demand,
    first_demand_index,
)
from forecasting.engine.demand_ensemble import (
    Combination,
    EnsembleChoice,
    choose_ensembles,
    choose_robust,
    method_label,
)
from forecasting.engine.demand_global import GLOBAL_METHOD, GlobalPaths, GlobalSeries, fit_global_model
from forecasting.engine.demand_guard import GUARD_SLACK, rein_in
from forecasting.engine.demand_metrics import (
    BacktestMetrics,
    BacktestSummary,
    aggregate_backtests,
    backtest_metrics,
    seasonal_naive_scale,
)
from forecasting.engine.demand_models import (
    LOG,
    RAW,
    SEASONAL_NAIVE,
    SEASONALLY_ADJUSTED_LOG,
    CandidateRun,
    feasible_windows,
    fit_fourier_season,
    fourier_terms,
    log_offset,
    run_candidates,
    seasonal_naive_forecast,
    to_log,
)
from forecasting.engine.demand_price import (
    ElasticityEstimate,
    estimate_elasticities,
    price_change_multiplier,
)
from forecasting.engine.demand_quantiles import (
    count_quantiles,
    dispersion_moments,
    intermittent_quantiles,
    residual_quantile_forecasts,
    size_moments,
)

FloatArray = npt.NDArray[np.float64]
Key = TypeVar("Key", bound=Hashable)
Frequency = Literal["D", "W", "M"]

SEASON_LENGTH_BY_FREQUENCY: dict[str, int] = {"D": 7, "W": 52, "M": 12}
PERIOD_OFFSET_BY_FREQUENCY: dict[str, pd.DateOffset] = {
    "D": pd.DateOffset(days=1),
    "W": pd.DateOffset(weeks=1),
    "M": pd.DateOffset(months=1),
}
MIN_MODEL_HISTORY = 8  # active periods below which no model is fitted (mean of the history instead)
NEW_PRODUCT_PRIOR_PERIODS = 4.0  # periods of own sales that weigh as much as the prior share
# Log-scale standard deviation of a new product's share before any sale: it may well sell 0.6x to 1.6x the prior.
NEW_PRODUCT_SHARE_LOG_SD = 0.5
Z_90 = 1.2815515655446004
# Short seasons (monthly 12, daily 7): MSTL joins ETS, Theta and CES. AutoARIMA stays available by name only: it is
# the slowest candidate by far (seasonal ARIMA on 20 years of months), too slow for nightly runs of many products.
# MSTL adds about 20% CPU on daily series; weekly (52) series are unaffected.
SHORT_SEASON_MODELS: tuple[str, ...] = ("ets", "theta", "ces", "mstl")
SHORT_SEASON_TRANSFORMS: tuple[str, ...] = (RAW, LOG)
SHORT_SEASON_ENSEMBLE_SIZE = 3
# Long seasons (52 weeks): Fourier-adjusted log series and non-seasonal models. About half the cost of seasonal Theta
# and CES with 52 states; more accurate on synthetic weekly products (MASE 0.78 vs 0.88), a little less on the one
# real weekly series tried (fpp2/gasoline, 0.86 vs 0.82).
LONG_SEASON_MODELS: tuple[str, ...] = ("ets", "ces")
LONG_SEASON_TRANSFORMS: tuple[str, ...] = (SEASONALLY_ADJUSTED_LOG,)
NON_SEASONAL_MODELS: tuple[str, ...] = ("ets", "theta", "ces")
DEFAULT_INTERMITTENT_MODELS: tuple[str, ...] = ("croston_sba", "tsb", "adida", "imapa")
# The store's global model (``demand_global``) is a candidate for products of weekly and daily stores: monthly
# stores have too few periods per product for it.
GLOBAL_MODEL_FREQUENCIES = ("D", "W")


class ForecastRoute(StrEnum):
    REGULAR = "regular"
    INTERMITTENT = "intermittent"
    NEW_PRODUCT = "new_product"
    SHORT_HISTORY = "short_history"
    NO_DEMAND = "no_demand"


@dataclass(frozen=True)
class SeriesInput:
    """One series to forecast.

    ``category_history`` (the aggregate demand of the product's category) or ``similar_histories`` (demand of
    similar products) enable the new-product path; they are aligned with ``demand`` on their last period.
    A new product without any sale is given ``1 / category_product_count`` of its category, so that count is
    required with a category history. ``prices`` (same periods as ``demand``; missing prices are carried forward)
    give an elasticity estimate, shrunk toward the other series of the same ``price_group``.
    """

    demand: npt.ArrayLike
    prices: npt.ArrayLike | None = None
    price_group: Hashable | None = None
    category_history: npt.ArrayLike | None = None
    category_product_count: int | None = None
    similar_histories: Sequence[npt.ArrayLike] = ()
    last_period_start: dt.date | pd.Timestamp | None = None


@dataclass(frozen=True)
class ForecastConfig:
    """Knobs with defaults that suit retail data; ``None`` means "derive from the frequency and horizon"."""

    season_length: int | None = None  # D: 7, W: 52, M: 12
    regular_models: tuple[str, ...] | None = None  # seasons <= 24: ets, theta, ces, mstl; longer: ets, ces
    non_seasonal_models: tuple[str, ...] = NON_SEASONAL_MODELS  # for series shorter than two seasons
    intermittent_models: tuple[str, ...] = DEFAULT_INTERMITTENT_MODELS
    transforms: tuple[str, ...] | None = None  # seasons <= 24: raw and log; longer: seasonally adjusted log
    # combination="inverse_error" only: the best N candidates per series; None: 3 for seasons up to 24, else all.
    ensemble_size: int | None = None
    # How candidates are combined, chosen on the design half of bench_forecasting's suite (geo-mean MASE ratio to
    # the seasonal naive on its quick run): "inverse_error", the best ``ensemble_size`` weighted by inverse backtest
    # error, 0.659; "median" of the models no worse than the seasonal naive, 0.674 (0.668 inverse-error with the
    # losers dropped and the naive served where it wins). The differences are within noise; the median stays
    # available by name.
    combination: Combination = "inverse_error"
    drop_losers: bool = False  # leave out models losing to the seasonal naive in backtest
    guard_slack: float | None = GUARD_SLACK  # None: no growth guard on candidate paths (neutral on the design half)
    # Serve the seasonal naive (with its own band) where it beat the combination in backtest: on for the store total
    # and the categories (the forecasting layer sets it), off for products, where it cost accuracy on the design half.
    serve_naive_when_better: bool = False
    # Multiplies the regular series' backtest error quantiles: the backtest's few overlapping windows understate a new
    # year's errors. 1.25 puts P10-P90 coverage on the design half at 0.82 (1.0: 0.74, 1.45: 0.85), pinball lowest.
    band_widening: float = 1.25
    # Weekly and daily stores: the store's global gradient-boosting model is a candidate for every regular product,
    # served where its backtest erred less than the local combination's (``global_model_paths``).
    global_model: bool = True
    backtest_windows: int = 12
    backtest_step: int | None = None  # periods between backtest origins; default max(1, horizon // 4)
    refit_backtests: bool = False  # False: fit once on the oldest window and roll forward (much cheaper)
    # New-product threshold in active periods; default: half a season (26 weeks), at least twice the horizon.
    min_history: int | None = None
    n_jobs: int = 1
    adi_threshold: float = ADI_THRESHOLD
    cv2_threshold: float = CV2_THRESHOLD


@dataclass(frozen=True)
class DemandForecast:
    """Forecast of one series for the next ``horizon`` periods (arrays of that length, never negative)."""

    p10: FloatArray
    p50: FloatArray
    p90: FloatArray
    mean: FloatArray  # the method's point forecast; P50 equals it for regular series, is the median otherwise
    method: str  # e.g. "weighted(ets/log+theta+ces/log)", "history_mean", "category_share(weighted(...))"
    route: ForecastRoute
    pattern: DemandPattern
    baseline: FloatArray  # seasonal naive forecast
    backtest: BacktestMetrics | None  # of the P10/P50/P90 forecasts, out of sample
    baseline_backtest: BacktestMetrics | None  # of the seasonal naive, same windows
    period_starts: tuple[pd.Timestamp, ...] | None = None
    elasticity: ElasticityEstimate | None = None
    weights: tuple[tuple[str, float], ...] = ()  # combined candidates and their weights, heaviest first
    notes: tuple[str, ...] = field(default=())
    global_backtest: BacktestMetrics | None = None  # of the store's global model, same windows, where it ran


def season_length_for(freq: str, config: ForecastConfig | None = None) -> int:
    if config is not None and config.season_length is not None:
        return config.season_length
    try:
        return SEASON_LENGTH_BY_FREQUENCY[freq]
    except KeyError:
        raise ValueError(f"frequency must be one of {sorted(SEASON_LENGTH_BY_FREQUENCY)}, got {freq!r}") from None


def future_period_starts(
    last_period_start: dt.date | pd.Timestamp, freq: str, horizon: int
) -> tuple[pd.Timestamp, ...]:
    """Start dates of the ``horizon`` periods after the one starting at ``last_period_start``."""
    offset = PERIOD_OFFSET_BY_FREQUENCY[freq]
    start = pd.Timestamp(last_period_start)
    return tuple(start + offset * step for step in range(1, horizon + 1))


def default_min_history(season_length: int, horizon: int, config: ForecastConfig) -> int:
    """Active periods from which a series is forecast from its own history rather than as a share of a reference."""
    return config.min_history or max(MIN_MODEL_HISTORY, season_length // 2, 2 * horizon)


def clean_demand(values: npt.ArrayLike) -> FloatArray:
    """Demand as float: NaN means no demand, negative values (net returns) count as zero."""
    array = np.asarray(values, dtype=float).ravel()
    return np.clip(np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


@dataclass(frozen=True)
class _Output:
    """What one route produces for one series, before it becomes a DemandForecast."""

    p10: FloatArray
    p50: FloatArray
    p90: FloatArray
    mean: FloatArray
    method: str
    baseline: FloatArray
    backtest: BacktestMetrics | None = None
    baseline_backtest: BacktestMetrics | None = None
    weights: tuple[tuple[str, float], ...] = ()
    notes: tuple[str, ...] = ()
    global_backtest: BacktestMetrics | None = None


@dataclass
class _Prepared:
    demand: FloatArray  # full cleaned history
    active: FloatArray  # from the first period with demand
    pattern: DemandPattern
    route: ForecastRoute
    season_length: int  # effective: 1 when the history is shorter than two seasons
    reference_key: str | None = None
    share: float = math.nan
    share_periods: int = 0  # periods of own sales behind the share
    # Multiplicative season borrowed from the reference, over the active history and the horizon (None: none).
    borrowed_season: FloatArray | None = None


def _reference_history(item: SeriesInput) -> tuple[FloatArray, str] | None:
    if item.similar_histories:
        histories = [clean_demand(h) for h in item.similar_histories]
        length = min(len(h) for h in histories)
        if length:
            return np.mean([h[len(h) - length :] for h in histories], axis=0), "similar_products"
    if item.category_history is not None:
        history = clean_demand(item.category_history)
        if len(history):
            return history, "category_share"
    return None


def _reference_key(history: FloatArray) -> str:
    return "__reference__" + hashlib.sha1(history.tobytes()).hexdigest()


def _product_share(item: SeriesInput, demand: FloatArray, reference: FloatArray, kind: str) -> tuple[float, int]:
    """Share of the reference the product is expected to sell, and the number of periods it was observed over.

    The prior share is 1 for the mean of similar products and ``1 / category_product_count`` for a category; the
    observed share (product sales over reference sales since launch) takes over as periods of sales accumulate.
    """
    prior = (
        1.0
        if kind == "similar_products"
        else (1.0 / item.category_product_count if item.category_product_count else None)
    )
    active_periods = len(demand) - first_demand_index(demand)
    window = min(active_periods, len(reference))
    reference_total = float(reference[len(reference) - window :].sum()) if window else 0.0
    if window == 0 or reference_total <= 0:
        return (prior if prior is not None else 0.0), 0
    observed = float(demand[len(demand) - window :].sum()) / reference_total
    if prior is None:
        return observed, window
    weight = window / (window + NEW_PRODUCT_PRIOR_PERIODS)
    return weight * observed + (1.0 - weight) * prior, window


def _route(
    demand: FloatArray, has_reference: bool, season_length: int, min_history: int, config: ForecastConfig
) -> tuple[ForecastRoute, DemandPattern, FloatArray, int]:
    pattern = classify_demand(demand, adi_threshold=config.adi_threshold, cv2_threshold=config.cv2_threshold)
    active = demand[first_demand_index(demand) :]
    effective_season = season_length if len(active) >= 2 * season_length else 1
    if has_reference and len(active) < min_history:
        return ForecastRoute.NEW_PRODUCT, pattern, active, effective_season
    if not len(active):
        return ForecastRoute.NO_DEMAND, pattern, active, effective_season
    if len(active) < MIN_MODEL_HISTORY:
        return ForecastRoute.SHORT_HISTORY, pattern, active, effective_season
    if pattern.is_intermittent:
        return ForecastRoute.INTERMITTENT, pattern, active, effective_season
    return ForecastRoute.REGULAR, pattern, active, effective_season


def _metrics_for(
    history: FloatArray,
    actuals: FloatArray,
    bands: FloatArray,
    cutoffs: npt.NDArray[np.int64],
    season_length: int,
) -> BacktestMetrics | None:
    present = cutoffs >= 0
    if not present.any():
        return None
    scale = seasonal_naive_scale(history[: int(cutoffs[present].min())], season_length)
    return backtest_metrics(
        actuals[present],
        bands[0][present],
        bands[1][present],
        bands[2][present],
        scale=scale,
        n_windows=int(present.sum()),
    )


def _scale_proxy(histories: Sequence[FloatArray], offsets: FloatArray, season_length: int) -> FloatArray:
    """In-sample seasonal naive mean absolute log error: a stand-in error scale for series without a backtest."""
    proxy = np.empty(len(histories))
    for i, history in enumerate(histories):
        logged = to_log(history, offsets[i])
        lag = season_length if len(logged) > season_length else 1
        proxy[i] = float(np.mean(np.abs(logged[lag:] - logged[:-lag]))) if len(logged) > lag else 0.1
    return proxy


def _regular_models(season_length: int, config: ForecastConfig) -> tuple[str, ...]:
    if season_length == 1:
        return config.non_seasonal_models
    if config.regular_models:
        return config.regular_models
    return SHORT_SEASON_MODELS if season_length <= 24 else LONG_SEASON_MODELS


def _guarded(run: CandidateRun, histories: list[FloatArray], season_length: int, slack: float) -> CandidateRun:
    """Every candidate path (future and backtest) reined in to the growth its training history makes plausible."""
    future = run.future.copy()
    backtest = run.backtest.copy()
    for i, history in enumerate(histories):
        future[i], _ = rein_in(future[i], history, season_length, slack)
        for w in np.flatnonzero(run.cutoffs[i] >= 0):
            cutoff = int(run.cutoffs[i, w])
            backtest[i, :, w], _ = rein_in(backtest[i, :, w], history[:cutoff], season_length, slack)
    return replace(run, future=future, backtest=backtest)


def _naive_where_it_wins(combined: _Output, naive_bands: FloatArray, config: ForecastConfig) -> _Output:
    """The seasonal naive (with its band) instead of the combination where it erred less in the same backtest."""
    metrics, baseline = combined.backtest, combined.baseline_backtest
    only_naive = [name for name, _ in combined.weights] == [SEASONAL_NAIVE]
    naive_wins = metrics is not None and baseline is not None and baseline.mase < metrics.mase
    if not (only_naive or (config.serve_naive_when_better and naive_wins)):
        return combined
    if only_naive or metrics is None or baseline is None:
        why = "every model erred more than it in backtest."
    else:
        why = f"in backtest it erred less (MASE {baseline.mase:.2f}) than {combined.method} (MASE {metrics.mase:.2f})."
    return _Output(
        naive_bands[0],
        naive_bands[1],
        naive_bands[2],
        combined.baseline,
        SEASONAL_NAIVE,
        combined.baseline,
        baseline,
        baseline,
        ((SEASONAL_NAIVE, 1.0),),
        (f"Seasonal naive served: {why}",),
    )


def _backtest_step(horizon: int, config: ForecastConfig) -> int:
    return config.backtest_step or max(1, horizon // 4)


def _regular_windows(n_active: int, season_length: int, horizon: int, config: ForecastConfig) -> int:
    """Backtest windows of a regular series with ``n_active`` periods (``season_length``: its effective season)."""
    min_train = max(2 * season_length, MIN_MODEL_HISTORY) if season_length > 1 else max(MIN_MODEL_HISTORY, horizon)
    return feasible_windows(n_active, horizon, config.backtest_windows, _backtest_step(horizon, config), min_train)


def _forecast_regular_batch(
    histories: list[FloatArray],
    season_length: int,
    horizon: int,
    config: ForecastConfig,
    model_names: tuple[str, ...],
    global_inputs: Sequence[tuple[GlobalPaths, FloatArray | None] | None] = (),
) -> list[_Output]:
    """``global_inputs``: per series, the global model's paths and the borrowed season its history was divided by."""
    step = _backtest_step(horizon, config)
    windows = [_regular_windows(len(h), season_length, horizon, config) for h in histories]
    transforms = config.transforms or (SHORT_SEASON_TRANSFORMS if season_length <= 24 else LONG_SEASON_TRANSFORMS)
    run = run_candidates(
        histories,
        model_names=model_names,
        transforms=transforms,
        season_length=season_length,
        horizon=horizon,
        n_windows=windows,
        step=step,
        refit=config.refit_backtests,
        n_jobs=config.n_jobs,
    )
    if config.guard_slack is not None:
        run = _guarded(run, histories, season_length, config.guard_slack)
    if config.combination == "median":
        choice = choose_robust(run, combination="median", drop_losers=config.drop_losers)
        label = "median"
    else:
        size = config.ensemble_size
        if size is None and 1 < season_length <= 24:
            size = SHORT_SEASON_ENSEMBLE_SIZE
        choice = choose_ensembles(run, size=size, loss="mae")
        label = "weighted"
    offsets = np.asarray([log_offset(h) for h in histories])
    floors = np.asarray([max(0.01 * float(h.mean()), 1e-9) for h in histories])
    proxy = _scale_proxy(histories, offsets, season_length)
    bands, backtest_bands = residual_quantile_forecasts(
        future_point=choice.future,
        backtest_point=choice.backtest,
        actuals=run.actuals,
        offsets=offsets,
        floors=floors,
        scale_proxy=proxy,
        widen=config.band_widening,
    )
    baseline_future, baseline_backtest = run.future[:, -1], run.backtest[:, -1]
    # The baseline is shown as a point forecast; its bands serve its backtest figures, and the forecast where the
    # baseline wins.
    baseline_bands, baseline_backtest_bands = residual_quantile_forecasts(
        future_point=baseline_future,
        backtest_point=baseline_backtest,
        actuals=run.actuals,
        offsets=offsets,
        floors=floors,
        scale_proxy=proxy,
        widen=config.band_widening,
    )
    results = _combined_outputs(
        histories,
        run,
        choice,
        label,
        season_length,
        config,
        bands=(bands, backtest_bands),
        baseline_bands=(baseline_bands, baseline_backtest_bands),
    )
    if any(item is not None for item in global_inputs):
        results = _global_where_it_wins(
            results, histories, run, global_inputs, season_length, config, offsets, floors, proxy
        )
    return results


def _global_where_it_wins(
    results: list[_Output],
    histories: list[FloatArray],
    run: CandidateRun,
    global_inputs: Sequence[tuple[GlobalPaths, FloatArray | None] | None],
    season_length: int,
    config: ForecastConfig,
    offsets: FloatArray,
    floors: FloatArray,
    proxy: FloatArray,
) -> list[_Output]:
    """The store's global model instead of the local combination where it erred less over the same backtest windows.

    Its paths are reined in by the same growth guard as the local candidates' and its bands come from its own
    backtest errors. A series whose global backtest misses one of its windows keeps the local forecast.
    """
    horizon = run.actuals.shape[2]
    chosen: list[int] = []
    future, backtest = [], []
    for i, item in enumerate(global_inputs):
        present = np.flatnonzero(run.cutoffs[i] >= 0)
        if item is None or not len(present):
            continue
        paths, season = item
        history, n = histories[i], len(histories[i])
        path = paths.future / season[n : n + horizon] if season is not None else paths.future
        windows = np.full(run.actuals.shape[1:], np.nan)
        for w in present:
            cutoff = int(run.cutoffs[i, w])
            window_path = paths.backtest.get(n - cutoff)
            if window_path is None:
                break
            windows[w] = window_path / season[cutoff : cutoff + horizon] if season is not None else window_path
            if config.guard_slack is not None:
                windows[w] = rein_in(windows[w][None, :], history[:cutoff], season_length, config.guard_slack)[0][0]
        else:
            if config.guard_slack is not None:
                path = rein_in(path[None, :], history, season_length, config.guard_slack)[0][0]
            chosen.append(i)
            future.append(path)
            backtest.append(windows)
    if not chosen:
        return results
    index = np.asarray(chosen)
    bands, backtest_bands = residual_quantile_forecasts(
        future_point=np.asarray(future),
        backtest_point=np.asarray(backtest),
        actuals=run.actuals[index],
        offsets=offsets[index],
        floors=floors[index],
        scale_proxy=proxy[index],
        widen=config.band_widening,
    )
    results = list(results)
    for j, i in enumerate(chosen):
        local = results[i]
        metrics = _metrics_for(histories[i], run.actuals[i], backtest_bands[:, j], run.cutoffs[i], season_length)
        if metrics is None or local.backtest is None or not metrics.mase < local.backtest.mase:
            results[i] = replace(local, global_backtest=metrics)
            continue
        results[i] = _Output(
            bands[0, j],
            bands[1, j],
            bands[2, j],
            future[j],
            GLOBAL_METHOD,
            local.baseline,
            metrics,
            local.baseline_backtest,
            ((GLOBAL_METHOD, 1.0),),
            (
                f"Global model served: in backtest it erred less (MASE {metrics.mase:.2f}) than {local.method} "
                f"(MASE {local.backtest.mase:.2f}).",
            ),
            metrics,
        )
    return results


def _forecast_intermittent_batch(
    histories: list[FloatArray], season_length: int, horizon: int, config: ForecastConfig
) -> list[_Output]:
    step = config.backtest_step or max(1, horizon // 4)
    min_train = max(MIN_MODEL_HISTORY, horizon)
    windows = [feasible_windows(len(h), horizon, config.backtest_windows, step, min_train) for h in histories]
    run = run_candidates(
        histories,
        model_names=config.intermittent_models,
        transforms=("raw",),
        season_length=season_length,
        horizon=horizon,
        n_windows=windows,
        step=step,
        refit=True,
        n_jobs=config.n_jobs,
    )
    # Squared error: absolute error would favour forecasting zero for every intermittent series.
    choice = choose_ensembles(run, size=config.ensemble_size, loss="mse")
    moments = np.asarray([size_moments(h) for h in histories]).reshape(-1, 2)
    bands = intermittent_quantiles(choice.future, moments[:, 0], moments[:, 1])
    n_windows = run.actuals.shape[1]
    backtest_bands = np.full((3, *run.actuals.shape), np.nan)
    for w in range(n_windows):
        present = np.flatnonzero(run.cutoffs[:, w] >= 0)
        if not len(present):
            continue
        window_moments = np.asarray([size_moments(histories[i][: run.cutoffs[i, w]]) for i in present]).reshape(-1, 2)
        backtest_bands[:, present, w] = intermittent_quantiles(
            choice.backtest[present, w], window_moments[:, 0], window_moments[:, 1]
        )
    offsets = np.asarray([log_offset(h) for h in histories])
    floors = np.asarray([max(0.01 * float(h.mean()), 1e-9) for h in histories])
    baseline_bands, baseline_backtest_bands = residual_quantile_forecasts(
        future_point=run.future[:, -1],
        backtest_point=run.backtest[:, -1],
        actuals=run.actuals,
        offsets=offsets,
        floors=floors,
        scale_proxy=_scale_proxy(histories, offsets, season_length),
    )
    return _combined_outputs(
        histories,
        run,
        choice,
        "weighted",
        season_length,
        config,
        bands=(bands, backtest_bands),
        baseline_bands=(baseline_bands, baseline_backtest_bands),
    )


def _combined_outputs(
    histories: list[FloatArray],
    run: CandidateRun,
    choice: EnsembleChoice,
    label: str,
    season_length: int,
    config: ForecastConfig,
    *,
    bands: tuple[FloatArray, FloatArray],
    baseline_bands: tuple[FloatArray, FloatArray],
) -> list[_Output]:
    """One output per series from its combination, scored in backtest against the seasonal naive (the run's last
    candidate), which is served instead where it erred less. Bands: (future, backtest) P10/P50/P90 arrays."""
    (future_bands, backtest_bands), (naive_bands, naive_backtest_bands) = bands, baseline_bands
    results = []
    for i, history in enumerate(histories):
        metrics = _metrics_for(history, run.actuals[i], backtest_bands[:, i], run.cutoffs[i], season_length)
        baseline_metrics = _metrics_for(
            history, run.actuals[i], naive_backtest_bands[:, i], run.cutoffs[i], season_length
        )
        members = choice.members(i)
        combined = _Output(
            future_bands[0, i],
            future_bands[1, i],
            future_bands[2, i],
            choice.future[i],
            method_label(members, label),
            run.future[i, -1],
            metrics,
            baseline_metrics,
            members,
        )
        results.append(_naive_where_it_wins(combined, naive_bands[:, i], config))
    return results


def _short_history_forecast(active: FloatArray, season_length: int, horizon: int) -> _Output:
    level = float(active.mean()) if len(active) else 0.0
    mean = np.full(horizon, level)
    m, v = dispersion_moments(active)
    bands = count_quantiles(mean[None, :], np.asarray([m]), np.asarray([v]))[:, 0]
    baseline = seasonal_naive_forecast(active, season_length, horizon) if len(active) else np.zeros(horizon)
    method = "history_mean" if len(active) else "no_demand"
    return _Output(bands[0], bands[1], bands[2], mean, method, baseline)


def global_model_paths(
    series: Mapping[Key, SeriesInput],
    freq: Frequency | str,
    horizon: int,
    config: ForecastConfig | None = None,
) -> dict[Key, GlobalPaths] | None:
    """Fit the store's global model over ``series`` (every product of one store) and forecast them with it.

    None for monthly stores, with ``config.global_model`` off, or when the data is too thin. The result goes to
    every :func:`forecast_many` call of the store's products (``global_paths``): trained once per store and run.
    Its backtest runs at the same windows as the local models' (``_regular_windows``).
    """
    config = config or ForecastConfig()
    if not config.global_model or freq not in GLOBAL_MODEL_FREQUENCIES or not series:
        return None
    season_length = season_length_for(freq, config)
    min_history = default_min_history(season_length, horizon, config)
    step = _backtest_step(horizon, config)
    most_windows = 0
    for item in series.values():
        demand = clean_demand(item.demand)
        n_active = len(demand) - first_demand_index(demand)
        if n_active >= min_history:
            effective_season = season_length if n_active >= 2 * season_length else 1
            most_windows = max(most_windows, _regular_windows(n_active, effective_season, horizon, config))
    if not most_windows:
        return None
    return fit_global_model(
        {
            key: GlobalSeries(item.demand, item.prices, item.price_group, item.last_period_start)
            for key, item in series.items()
        },
        season_length=season_length,
        horizon=horizon,
        distances=[horizon + step * k for k in range(most_windows)],
    )


def forecast_many(
    series: Mapping[Key, SeriesInput],
    freq: Frequency | str,
    horizon: int,
    config: ForecastConfig | None = None,
    *,
    global_paths: Mapping[Key, GlobalPaths] | None = None,
) -> dict[Key, DemandForecast]:
    """Forecast every series in one batch; see the module docstring for the routes. Keys are returned unchanged.

    ``global_paths`` (from :func:`global_model_paths`, for the whole store) make the store's global model a
    candidate for the regular series they cover."""
    config = config or ForecastConfig()
    if horizon < 1:
        raise ValueError("horizon must be at least 1 period")
    season_length = season_length_for(freq, config)
    min_history = default_min_history(season_length, horizon, config)

    prepared: dict[Hashable, _Prepared] = {}
    references: dict[str, FloatArray] = {}
    reference_kind: dict[Hashable, str] = {}
    for key, item in series.items():
        demand = clean_demand(item.demand)
        reference = _reference_history(item)
        no_sales = first_demand_index(demand) == len(demand)
        if reference is not None and reference[1] == "category_share" and not item.category_product_count and no_sales:
            raise ValueError(f"series {key!r}: a category history without sales needs category_product_count")
        route, pattern, active, effective_season = _route(
            demand, reference is not None, season_length, min_history, config
        )
        entry = _Prepared(demand, active, pattern, route, effective_season)
        if route == ForecastRoute.REGULAR and effective_season == 1 < season_length and reference is not None:
            entry.borrowed_season = _borrowed_season(reference[0], len(active), season_length, horizon)
        if route == ForecastRoute.NEW_PRODUCT and reference is not None:
            history, kind = reference
            entry.reference_key = _reference_key(history)
            entry.share, entry.share_periods = _product_share(item, demand, history, kind)
            references[entry.reference_key] = history
            reference_kind[key] = kind
        prepared[key] = entry
    for reference_key, history in references.items():
        route, pattern, active, effective_season = _route(history, False, season_length, min_history, config)
        prepared[reference_key] = _Prepared(history, active, pattern, route, effective_season)

    paths_by_key: dict[Hashable, GlobalPaths] = {key: paths for key, paths in (global_paths or {}).items()}
    outputs: dict[Hashable, _Output] = {}
    batches: dict[tuple[ForecastRoute, int], list[Hashable]] = {}
    for prepared_key, entry in prepared.items():
        if entry.route in (ForecastRoute.REGULAR, ForecastRoute.INTERMITTENT):
            batches.setdefault((entry.route, entry.season_length), []).append(prepared_key)
        elif entry.route in (ForecastRoute.SHORT_HISTORY, ForecastRoute.NO_DEMAND):
            outputs[prepared_key] = _short_history_forecast(entry.active, season_length, horizon)
    for (route, effective_season), keys in batches.items():
        histories = [_seasonally_adjusted(prepared[k]) for k in keys]
        if route == ForecastRoute.REGULAR:
            global_inputs = [
                (paths_by_key[k], prepared[k].borrowed_season) if k in paths_by_key else None for k in keys
            ]
            batch = _forecast_regular_batch(
                histories,
                effective_season,
                horizon,
                config,
                _regular_models(effective_season, config),
                global_inputs,
            )
        else:
            batch = _forecast_intermittent_batch(histories, season_length, horizon, config)
        outputs.update(zip(keys, batch, strict=True))

    elasticities = _elasticities(series, season_length)
    results: dict[Key, DemandForecast] = {}
    for key, item in series.items():
        entry = prepared[key]
        if entry.route == ForecastRoute.NEW_PRODUCT:
            output = _new_product_forecast(entry, outputs[entry.reference_key], reference_kind[key], season_length)
        else:
            output = outputs[key]
        if entry.borrowed_season is not None:
            output = _with_season(output, entry.borrowed_season[len(entry.active) :])
        ordered = np.sort(np.clip(np.stack([output.p10, output.p50, output.p90]), 0.0, None), axis=0)
        results[key] = DemandForecast(
            p10=ordered[0],
            p50=ordered[1],
            p90=ordered[2],
            mean=np.clip(output.mean, 0.0, None),
            method=output.method,
            route=entry.route,
            pattern=entry.pattern,
            baseline=np.clip(output.baseline, 0.0, None),
            backtest=output.backtest,
            baseline_backtest=output.baseline_backtest,
            weights=output.weights,
            notes=output.notes,
            global_backtest=output.global_backtest,
            period_starts=(
                future_period_starts(item.last_period_start, freq, horizon)
                if item.last_period_start is not None and freq in PERIOD_OFFSET_BY_FREQUENCY
                else None
            ),
            elasticity=elasticities.get(key),
        )
    return results


def _borrowed_season(reference: FloatArray, n_active: int, season_length: int, horizon: int) -> FloatArray | None:
    """The reference's multiplicative yearly season over a product's last ``n_active`` periods and the horizon.

    For a product with less than two seasons of its own sales: its own history cannot show a season, its category's
    (or the store's) can when that covers two seasons. Fourier terms on the log reference, harmonics by AICc.
    """
    active = reference[first_demand_index(reference) :]
    if len(active) < 2 * season_length:
        return None
    logged = to_log(active, log_offset(active))
    coefficients, harmonics = fit_fourier_season(logged, season_length)
    if harmonics == 0:
        return None
    start = len(active) - n_active  # the product's first period, counted in the reference's active part
    if start < 0:
        return None
    t = np.arange(start, len(active) + horizon, dtype=float)
    return np.exp(fourier_terms(t, season_length, harmonics) @ coefficients)


def _seasonally_adjusted(entry: _Prepared) -> FloatArray:
    if entry.borrowed_season is None:
        return entry.active
    return entry.active / entry.borrowed_season[: len(entry.active)]


def _with_season(output: _Output, season: FloatArray) -> _Output:
    """A forecast of the seasonally adjusted series with the borrowed season put back (backtests stay adjusted)."""
    return replace(
        output,
        p10=output.p10 * season,
        p50=output.p50 * season,
        p90=output.p90 * season,
        mean=output.mean * season,
        baseline=output.baseline * season,
        method=f"{output.method} x category season",
    )


def _new_product_forecast(entry: _Prepared, reference: _Output, kind: str, season_length: int) -> _Output:
    """Scale the reference forecast by the product's share; widen the band for the share's own uncertainty.

    The band combines, on the log scale, the reference's band with the share's uncertainty (which shrinks as
    periods of sales accumulate), and is never narrower than Poisson noise around the scaled mean.
    """
    share = entry.share
    p50 = share * reference.p50
    share_sd = NEW_PRODUCT_SHARE_LOG_SD / math.sqrt(1.0 + entry.share_periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower_width = np.nan_to_num(np.log(reference.p50 / reference.p10), nan=0.0, posinf=0.0)
        upper_width = np.nan_to_num(np.log(reference.p90 / reference.p50), nan=0.0, posinf=0.0)
    low = p50 * np.exp(-np.sqrt(lower_width**2 + (Z_90 * share_sd) ** 2))
    high = p50 * np.exp(np.sqrt(upper_width**2 + (Z_90 * share_sd) ** 2))
    scaled_mean = share * reference.mean
    poisson = count_quantiles(scaled_mean[None, :], np.asarray([0.0]), np.asarray([0.0]))[:, 0]
    horizon = len(reference.mean)
    own_baseline = (
        seasonal_naive_forecast(entry.active, season_length, horizon)
        if len(entry.active)
        else share * reference.baseline
    )
    return _Output(
        np.minimum(low, poisson[0]),
        p50,
        np.maximum(high, poisson[2]),
        scaled_mean,
        f"{kind}({reference.method})",
        own_baseline,
    )


def _elasticities(series: Mapping[Key, SeriesInput], season_length: int) -> dict[Key, ElasticityEstimate]:
    priced = {
        key: (clean_demand(item.demand), np.asarray(item.prices, dtype=float).ravel())
        for key, item in series.items()
        if item.prices is not None
    }
    for key, (demand, prices) in priced.items():
        if len(prices) != len(demand):
            raise ValueError(f"series {key!r}: prices must have one value per demand period")
    if not priced:
        return {}
    groups = {key: series[key].price_group for key in priced}
    return estimate_elasticities(priced, groups, season_length)


def forecast_demand(
    item: SeriesInput, freq: Frequency | str, horizon: int, config: ForecastConfig | None = None
) -> DemandForecast:
    """Forecast a single series (a batch of one)."""
    return forecast_many({"series": item}, freq, horizon, config)["series"]


def summarize_backtests(forecasts: Mapping[Key, DemandForecast], *, baseline: bool = False) -> BacktestSummary:
    """Aggregate the backtest figures of many forecasts (of their seasonal-naive baselines if ``baseline``)."""
    return aggregate_backtests(f.baseline_backtest if baseline else f.backtest for f in forecasts.values())


def what_if_price_change(
    forecast: DemandForecast, price_change: float, elasticity: float | ElasticityEstimate | None = None
) -> DemandForecast:
    """The forecast if the price changes by ``price_change`` (``-0.10``: 10% cheaper), all quantiles scaled.

    Uses ``elasticity`` or else the forecast's own estimate; demand scales by ``(1 + price_change) ** elasticity``.
    """
    chosen = forecast.elasticity if elasticity is None else elasticity
    value = chosen.elasticity if isinstance(chosen, ElasticityEstimate) else chosen
    if value is None or math.isnan(value):
        raise ValueError("no elasticity available: pass one, or forecast the series with prices")
    factor = price_change_multiplier(float(value), price_change)
    return replace(
        forecast,
        p10=forecast.p10 * factor,
        p50=forecast.p50 * factor,
        p90=forecast.p90 * factor,
        mean=forecast.mean * factor,
        notes=(*forecast.notes, f"price change {price_change:+.1%} with elasticity {value:.2f}: demand x{factor:.3f}"),
    )
