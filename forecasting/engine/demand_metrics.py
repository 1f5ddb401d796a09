"""Forecast accuracy metrics: MASE, WAPE, RMSE, pinball loss and quantile coverage, per series and aggregated.

All functions take plain arrays of actuals and forecasts of the same shape (e.g. windows x horizon of a rolling-origin
backtest) and ignore positions where the actual is missing (NaN). Definitions, so that a figure can be checked by
hand:

- MASE = mean |y - yhat| / scale, where scale is the in-sample mean absolute error of the seasonal naive forecast
  (y_t - y_{t-m}) on the training history (plain naive when the history is shorter than a season plus one).
- WAPE = sum |y - yhat| / sum |y|.
- RMSE = sqrt(mean (y - yhat)^2).
- pinball loss at level tau = mean(max(tau * (y - q), (tau - 1) * (y - q))); the "pinball" figure averages it over
  the P10, P50 and P90 levels.
- share below a quantile = mean(y < q), and share at or below = mean(y <= q). For continuous data they coincide and
  a calibrated P90 has a share near 0.9, a calibrated P10 near 0.1. For count data (an intermittent series has many
  zeros and a P10 of 0) no quantile can hit 10% exactly; calibration then means
  share below <= level <= share at or below.
- interval coverage = mean(P10 <= y <= P90), ideally about 0.8.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

QUANTILE_LEVELS: tuple[float, float, float] = (0.1, 0.5, 0.9)

FloatArray = npt.NDArray[np.float64]


def _as_pair(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    actual_array = np.asarray(actual, dtype=float)
    forecast_array = np.broadcast_to(np.asarray(forecast, dtype=float), actual_array.shape)
    observed = ~np.isnan(actual_array)
    return actual_array[observed], forecast_array[observed]


def seasonal_naive_scale(history: npt.ArrayLike, season_length: int) -> float:
    """In-sample mean absolute error of the seasonal naive forecast: the MASE denominator (NaN if undefined)."""
    values = np.asarray(history, dtype=float)
    lag = season_length if len(values) > season_length else 1
    if len(values) <= lag:
        return math.nan
    differences = np.abs(values[lag:] - values[:-lag])
    differences = differences[~np.isnan(differences)]
    return float(differences.mean()) if len(differences) else math.nan


def mean_absolute_scaled_error(actual: npt.ArrayLike, forecast: npt.ArrayLike, scale: float) -> float:
    """Mean absolute error divided by ``scale`` (see :func:`seasonal_naive_scale`); NaN when the scale is 0."""
    y, yhat = _as_pair(actual, forecast)
    if not len(y) or not scale > 0:
        return math.nan
    return float(np.mean(np.abs(y - yhat)) / scale)


def weighted_absolute_percentage_error(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    """Sum of absolute errors over the sum of absolute actuals; NaN when every actual is 0."""
    y, yhat = _as_pair(actual, forecast)
    total = float(np.sum(np.abs(y)))
    return float(np.sum(np.abs(y - yhat)) / total) if total > 0 else math.nan


def root_mean_squared_error(actual: npt.ArrayLike, forecast: npt.ArrayLike) -> float:
    y, yhat = _as_pair(actual, forecast)
    return float(np.sqrt(np.mean((y - yhat) ** 2))) if len(y) else math.nan


def pinball_loss(actual: npt.ArrayLike, quantile_forecast: npt.ArrayLike, quantile_level: float) -> float:
    """Mean quantile (pinball) loss of a forecast of the ``quantile_level`` quantile."""
    y, q = _as_pair(actual, quantile_forecast)
    if not len(y):
        return math.nan
    difference = y - q
    return float(np.mean(np.maximum(quantile_level * difference, (quantile_level - 1.0) * difference)))


def share_below(actual: npt.ArrayLike, quantile_forecast: npt.ArrayLike) -> float:
    """Share of actuals strictly below the quantile forecast."""
    y, q = _as_pair(actual, quantile_forecast)
    return float(np.mean(y < q)) if len(y) else math.nan


def share_at_or_below(actual: npt.ArrayLike, quantile_forecast: npt.ArrayLike) -> float:
    """Share of actuals at or below the quantile forecast."""
    y, q = _as_pair(actual, quantile_forecast)
    return float(np.mean(y <= q)) if len(y) else math.nan


def interval_coverage(actual: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike) -> float:
    """Share of actuals inside [lower, upper], bounds included."""
    y, low = _as_pair(actual, lower)
    _, high = _as_pair(actual, upper)
    return float(np.mean((y >= low) & (y <= high))) if len(y) else math.nan


@dataclass(frozen=True)
class BacktestMetrics:
    """Accuracy of one series' forecasts over its rolling-origin backtest windows.

    ``pinball`` is in the series' own units (the average over P10/P50/P90); ``scaled_pinball`` divides it by the
    MASE scale so that it can be averaged across series. The sums let :func:`aggregate_backtests` pool WAPE and RMSE
    exactly.
    """

    mase: float
    wape: float
    rmse: float
    pinball: float
    pinball_p10: float
    pinball_p50: float
    pinball_p90: float
    scaled_pinball: float
    share_below_p10: float
    share_below_p90: float
    share_at_or_below_p10: float
    share_at_or_below_p90: float
    interval_coverage: float
    n_windows: int
    n_points: int
    scale: float
    sum_abs_error: float
    sum_abs_actual: float
    sum_squared_error: float


def backtest_metrics(
    actual: npt.ArrayLike,
    p10: npt.ArrayLike,
    p50: npt.ArrayLike,
    p90: npt.ArrayLike,
    *,
    scale: float,
    n_windows: int,
    point: npt.ArrayLike | None = None,
) -> BacktestMetrics:
    """Every figure for one series. ``point`` (default: P50) is the forecast judged by MASE, WAPE and RMSE."""
    point_forecast = p50 if point is None else point
    y, yhat = _as_pair(actual, point_forecast)
    pinballs = [pinball_loss(actual, q, level) for q, level in zip((p10, p50, p90), QUANTILE_LEVELS, strict=True)]
    mean_pinball = float(np.mean(pinballs)) if len(y) else math.nan
    return BacktestMetrics(
        mase=mean_absolute_scaled_error(actual, point_forecast, scale),
        wape=weighted_absolute_percentage_error(actual, point_forecast),
        rmse=root_mean_squared_error(actual, point_forecast),
        pinball=mean_pinball,
        pinball_p10=pinballs[0],
        pinball_p50=pinballs[1],
        pinball_p90=pinballs[2],
        scaled_pinball=mean_pinball / scale if scale > 0 else math.nan,
        share_below_p10=share_below(actual, p10),
        share_below_p90=share_below(actual, p90),
        share_at_or_below_p10=share_at_or_below(actual, p10),
        share_at_or_below_p90=share_at_or_below(actual, p90),
        interval_coverage=interval_coverage(actual, p10, p90),
        n_windows=n_windows,
        n_points=len(y),
        scale=scale,
        sum_abs_error=float(np.sum(np.abs(y - yhat))),
        sum_abs_actual=float(np.sum(np.abs(y))),
        sum_squared_error=float(np.sum((y - yhat) ** 2)),
    )


@dataclass(frozen=True)
class BacktestSummary:
    """Backtest figures aggregated over many series.

    MASE and scaled pinball are averaged over series (mean and median); WAPE and RMSE are pooled over every
    backtest point; the coverage shares are pooled over points as well.
    """

    n_series: int
    n_points: int
    mean_mase: float
    median_mase: float
    wape: float
    rmse: float
    mean_scaled_pinball: float
    share_below_p10: float
    share_below_p90: float
    share_at_or_below_p10: float
    share_at_or_below_p90: float
    interval_coverage: float


def _nan_mean(values: list[float], weights: list[float] | None = None) -> float:
    array = np.asarray(values, dtype=float)
    weight_array = np.ones_like(array) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(array) & (weight_array > 0)
    if not keep.any():
        return math.nan
    return float(np.average(array[keep], weights=weight_array[keep]))


def aggregate_backtests(metrics: Iterable[BacktestMetrics | None]) -> BacktestSummary:
    """Pool per-series backtest figures (series without a backtest are skipped)."""
    rows = [m for m in metrics if m is not None and m.n_points > 0]
    points = [float(m.n_points) for m in rows]
    mases = [m.mase for m in rows]
    finite_mases = np.asarray([v for v in mases if not math.isnan(v)], dtype=float)
    total_abs_actual = sum(m.sum_abs_actual for m in rows)
    total_points = int(sum(points))
    return BacktestSummary(
        n_series=len(rows),
        n_points=total_points,
        mean_mase=float(finite_mases.mean()) if len(finite_mases) else math.nan,
        median_mase=float(np.median(finite_mases)) if len(finite_mases) else math.nan,
        wape=sum(m.sum_abs_error for m in rows) / total_abs_actual if total_abs_actual > 0 else math.nan,
        rmse=math.sqrt(sum(m.sum_squared_error for m in rows) / total_points) if total_points else math.nan,
        mean_scaled_pinball=_nan_mean([m.scaled_pinball for m in rows]),
        share_below_p10=_nan_mean([m.share_below_p10 for m in rows], points),
        share_below_p90=_nan_mean([m.share_below_p90 for m in rows], points),
        share_at_or_below_p10=_nan_mean([m.share_at_or_below_p10 for m in rows], points),
        share_at_or_below_p90=_nan_mean([m.share_at_or_below_p90 for m in rows], points),
        interval_coverage=_nan_mean([m.interval_coverage for m in rows], points),
    )
