"""Quantile forecasts (P10/P50/P90) calibrated on rolling-origin backtest errors.

Regular series: empirical (conformal) quantiles of the backtest errors, measured as log ratios
``log(actual + c) - log(forecast + c)`` (``c`` the series' log offset, see ``demand_models.log_offset``), so that a
band scales with the level of the series. Errors grow with the horizon; with only a few windows per series the
quantile of each horizon step on its own would be noise, so:

1. a horizon profile ``g(h)`` (non-decreasing, mean 1) is estimated from the whole batch of series;
2. each series' errors, divided by ``g(h)``, are pooled over windows and horizon steps, and their quantiles taken at
   conformal levels (``tau * (n + 1) / n`` for the upper tail) so that small samples do not give bands that are
   too narrow;
3. with few errors, a series' quantiles are shrunk toward the batch's shape (errors divided by each series' mean
   absolute error) times the series' own scale.

The band of horizon ``h`` is ``forecast * exp(q_tau * g(h))`` (in the offset log space), clipped at 0 and ordered.
The P50 is the point forecast itself: a median-error "bias correction" from a few windows proved noisier than the
bias it removes. For the backtest figures, each window's quantiles come from
the errors of the *other* windows (cross-conformal), so the reported coverage is out of sample.

Intermittent series: Croston's own picture of intermittent demand, a hurdle distribution. A period has demand with
probability p, and then a size of 1 + X with X negative binomial (Poisson when not over-dispersed) matching the mean
and variance of the non-zero sizes in the recent history; p is set so that the mean equals the model's forecast rate.
Short histories without a model use a plain negative binomial around their mean.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from forecasting.engine.demand_metrics import QUANTILE_LEVELS
from forecasting.engine.demand_models import from_log

FloatArray = npt.NDArray[np.float64]

SHRINKAGE_PSEUDO_COUNT = 24.0  # errors a series needs before its own quantiles weigh as much as the batch's shape
NORMAL_Z90 = 1.2815515655446004
DISPERSION_HISTORY = 104  # periods of recent history used to measure over-dispersion


def log_ratio_errors(actual: FloatArray, forecast: FloatArray, offsets: FloatArray, floors: FloatArray) -> FloatArray:
    """``log(actual + c) - log(forecast + c)`` with both sides floored, for arrays shaped (series, ...)."""
    extra_dims = (None,) * (actual.ndim - 1)
    c = offsets[(slice(None), *extra_dims)]
    floor = floors[(slice(None), *extra_dims)]
    return np.log(np.maximum(actual + c, floor)) - np.log(np.maximum(forecast + c, floor))


def _row_mean_abs(values: FloatArray) -> FloatArray:
    """Mean absolute value of each row's non-NaN entries; NaN for rows without any."""
    counts = np.sum(~np.isnan(values), axis=1)
    totals = np.nansum(np.abs(values), axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def horizon_profile(errors: FloatArray) -> FloatArray:
    """Relative error size by horizon step, smoothed, non-decreasing and of mean 1; errors shaped (series, w, h)."""
    horizon = errors.shape[-1]
    scale = _row_mean_abs(errors.reshape(len(errors), -1))
    usable = np.isfinite(scale) & (scale > 0)
    if not usable.any():
        return np.ones(horizon)
    relative = np.abs(errors[usable]) / scale[usable, None, None]
    raw = np.nanmean(relative, axis=(0, 1))
    raw = np.where(np.isfinite(raw), raw, np.nanmean(raw) if np.isfinite(raw).any() else 1.0)
    padded = np.concatenate([raw[:1], raw, raw[-1:]])
    smoothed = np.convolve(padded, np.ones(3) / 3.0, mode="valid")
    monotone = np.maximum.accumulate(smoothed)
    return monotone / monotone.mean()


def _conformal_levels(levels: tuple[float, ...], n: FloatArray) -> FloatArray:
    """Per series (rows) and level (columns): widen the tails by (n + 1) / n, as split conformal prediction does."""
    factor = (n + 1.0) / np.maximum(n, 1.0)
    out = np.empty((len(n), len(levels)))
    for k, level in enumerate(levels):
        if level > 0.5:
            out[:, k] = np.minimum(1.0, level * factor)
        elif level < 0.5:
            out[:, k] = np.maximum(0.0, 1.0 - (1.0 - level) * factor)
        else:
            out[:, k] = level
    return out


def per_series_quantiles(values: FloatArray, levels: FloatArray) -> FloatArray:
    """Linear-interpolated quantiles of each row's non-NaN values at that row's levels; NaN for empty rows."""
    if values.shape[1] == 0:
        return np.full(levels.shape, np.nan)
    ordered = np.sort(values, axis=1)  # NaN sorts last
    counts = np.sum(~np.isnan(values), axis=1)
    position = levels * np.maximum(counts - 1, 0)[:, None]
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, np.maximum(counts - 1, 0)[:, None])
    fraction = position - below
    low = np.take_along_axis(ordered, below, axis=1)
    high = np.take_along_axis(ordered, above, axis=1)
    result = low + fraction * (high - low)
    result[counts == 0] = np.nan
    return result


def error_quantiles(
    standardized_errors: FloatArray,
    scale_proxy: FloatArray,
    pooled_shape: FloatArray | None,
    levels: tuple[float, ...] = QUANTILE_LEVELS,
) -> FloatArray:
    """Quantiles (series, levels) of errors already divided by the horizon profile, shrunk toward the batch shape.

    ``pooled_shape`` holds the batch's quantiles of errors divided by each series' mean absolute error;
    ``scale_proxy`` stands in for that mean absolute error when a series has no errors of its own.
    """
    flat = standardized_errors.reshape(len(standardized_errors), -1)
    counts = np.sum(~np.isnan(flat), axis=1).astype(float)
    own = per_series_quantiles(flat, _conformal_levels(levels, counts))
    own_scale = _row_mean_abs(flat)
    scale = np.where(np.isfinite(own_scale) & (counts > 0), own_scale, scale_proxy)
    if pooled_shape is None:
        pooled_shape = np.asarray([-NORMAL_Z90, 0.0, NORMAL_Z90]) * 1.25  # normal errors with this mean |error|
        pooled_shape = np.interp(levels, QUANTILE_LEVELS, pooled_shape)
    pooled = scale[:, None] * pooled_shape[None, :]
    weight = (counts / (counts + SHRINKAGE_PSEUDO_COUNT))[:, None]
    blended = np.where(np.isnan(own), pooled, weight * own + (1.0 - weight) * pooled)
    return np.nan_to_num(blended, nan=0.0)


def pooled_error_shape(
    standardized_errors: FloatArray, levels: tuple[float, ...] = QUANTILE_LEVELS
) -> FloatArray | None:
    """Quantiles of every series' errors divided by that series' mean absolute error (None without errors)."""
    flat = standardized_errors.reshape(len(standardized_errors), -1)
    scale = _row_mean_abs(flat)
    usable = np.isfinite(scale) & (scale > 0)
    if not usable.any():
        return None
    relative = flat[usable] / scale[usable, None]
    relative = relative[~np.isnan(relative)]
    return np.quantile(relative, levels) if len(relative) else None


def apply_error_quantiles(
    point: FloatArray, quantiles: FloatArray, profile: FloatArray, offsets: FloatArray, floors: FloatArray
) -> FloatArray:
    """Bands (levels, series, ..., horizon) around point forecasts (series, ..., horizon), clipped at 0 and sorted."""
    extra_dims = (None,) * (point.ndim - 1)
    c = offsets[(slice(None), *extra_dims)]
    floor = floors[(slice(None), *extra_dims)]
    log_point = np.log(np.maximum(point + c, floor))
    bands = []
    for k in range(quantiles.shape[1]):
        shift = quantiles[(slice(None), k, *extra_dims)] * profile
        bands.append(np.clip(from_log(log_point + shift, c), 0.0, None))
    return np.sort(np.stack(bands), axis=0)


def _without_median_shift(quantiles: FloatArray) -> FloatArray:
    """The P50 stays the point forecast (column of level 0.5 set to zero error)."""
    adjusted = quantiles.copy()
    adjusted[:, QUANTILE_LEVELS.index(0.5)] = 0.0
    return adjusted


def residual_quantile_forecasts(
    *,
    future_point: FloatArray,
    backtest_point: FloatArray,
    actuals: FloatArray,
    offsets: FloatArray,
    floors: FloatArray,
    scale_proxy: FloatArray,
    widen: float = 1.0,
) -> tuple[FloatArray, FloatArray]:
    """Calibrated bands for the future and, window by window out of sample, for the backtest.

    ``widen`` scales the error quantiles: backtest errors of a few overlapping windows understate what a new year
    brings (regime changes the backtest never saw).

    Shapes: ``future_point`` (series, horizon); ``backtest_point`` and ``actuals`` (series, windows, horizon).
    Returns (future bands (3, series, horizon), backtest bands (3, series, windows, horizon)) for P10/P50/P90.
    """
    errors = log_ratio_errors(actuals, backtest_point, offsets, floors)
    profile = horizon_profile(errors)
    standardized = errors / profile
    shape = pooled_error_shape(standardized)
    quantiles = widen * _without_median_shift(error_quantiles(standardized, scale_proxy, shape))
    future_bands = apply_error_quantiles(future_point, quantiles, profile, offsets, floors)

    n_windows = actuals.shape[1]
    backtest_bands = np.full((len(QUANTILE_LEVELS), *actuals.shape), np.nan)
    for w in range(n_windows):
        present = ~np.isnan(actuals[:, w, 0])
        if not present.any():
            continue
        held_out = standardized[present].copy()
        held_out[:, w] = np.nan
        window_quantiles = widen * _without_median_shift(error_quantiles(held_out, scale_proxy[present], shape))
        backtest_bands[:, present, w] = apply_error_quantiles(
            backtest_point[present, w], window_quantiles, profile, offsets[present], floors[present]
        )
    return future_bands, backtest_bands


def dispersion_moments(history: FloatArray) -> tuple[float, float]:
    """Mean and variance of the recent active history (from the first demand, at most the last 104 periods)."""
    nonzero = np.flatnonzero(history > 0)
    active = history[nonzero[0] :] if len(nonzero) else history
    recent = active[-DISPERSION_HISTORY:]
    if not len(recent):
        return 0.0, 0.0
    return float(recent.mean()), float(recent.var())


def size_moments(history: FloatArray) -> tuple[float, float]:
    """Mean and variance of the non-zero demands in the recent history (mean 1, variance 0 if there are none)."""
    recent = history[-DISPERSION_HISTORY:]
    sizes = recent[recent > 0]
    if not len(sizes):
        sizes = history[history > 0]
    if not len(sizes):
        return 1.0, 0.0
    return float(sizes.mean()), float(sizes.var())


def _count_ppf(level: FloatArray, mean: FloatArray, variance: FloatArray) -> FloatArray:
    """Quantiles of a count with this mean and variance: negative binomial, or Poisson when not over-dispersed."""
    mean = np.maximum(mean, 0.0)
    overdispersed = variance > mean * 1.001
    size = np.where(overdispersed, mean**2 / np.where(overdispersed, variance - mean, 1.0), 1.0)
    size = np.maximum(size, 1e-3)
    with np.errstate(invalid="ignore", divide="ignore"):
        negative_binomial = stats.nbinom.ppf(level, size, size / (size + np.maximum(mean, 1e-12)))
        poisson = stats.poisson.ppf(level, np.maximum(mean, 1e-12))
    result = np.where(overdispersed, negative_binomial, poisson)
    return np.where(mean > 0, np.nan_to_num(result, nan=0.0), 0.0)


def intermittent_quantiles(
    mean_demand: FloatArray,
    size_mean: FloatArray,
    size_variance: FloatArray,
    levels: tuple[float, ...] = QUANTILE_LEVELS,
) -> FloatArray:
    """Hurdle-model quantiles (levels, series, ...) around forecast rates ``mean_demand`` (series, ...)."""
    extra_dims = (None,) * (mean_demand.ndim - 1)
    mu = np.clip(np.nan_to_num(mean_demand, nan=0.0), 0.0, None)
    typical_size = np.maximum(np.asarray(size_mean, dtype=float), 1.0)[(slice(None), *extra_dims)]
    variance = np.asarray(size_variance, dtype=float)[(slice(None), *extra_dims)]
    probability = np.clip(mu / typical_size, 0.0, 1.0)
    # When the rate exceeds the typical size, demand is expected every period and sizes grow to match.
    expected_size = np.maximum(typical_size, mu)
    out = []
    for level in levels:
        conditional = (level - (1.0 - probability)) / np.maximum(probability, 1e-12)
        has_demand = (conditional > 0) & (probability > 0)
        sizes = 1.0 + _count_ppf(
            np.clip(conditional, 1e-9, 1.0 - 1e-9),
            np.broadcast_to(expected_size - 1.0, mu.shape),
            np.broadcast_to(variance, mu.shape),
        )
        out.append(np.where(has_demand, sizes, 0.0))
    return np.sort(np.stack(out), axis=0)


def count_quantiles(
    mean_demand: FloatArray,
    history_mean: FloatArray,
    history_variance: FloatArray,
    levels: tuple[float, ...] = QUANTILE_LEVELS,
) -> FloatArray:
    """Negative-binomial quantiles (levels, series, ...) around ``mean_demand`` (series, ...).

    The dispersion comes from the history's variance-to-mean: size r = m² / (v - m); Poisson when v <= m.
    """
    extra_dims = (None,) * (mean_demand.ndim - 1)
    m = np.asarray(history_mean, dtype=float)[(slice(None), *extra_dims)]
    v = np.asarray(history_variance, dtype=float)[(slice(None), *extra_dims)]
    mu = np.clip(np.nan_to_num(mean_demand, nan=0.0), 0.0, None)
    # Keep the history's variance-to-mean relation (size r = m² / (v - m)) at the forecast's mean.
    overdispersed = v > m * 1.001
    size = np.where(overdispersed, m**2 / np.where(overdispersed, v - m, 1.0), np.inf)
    variance = np.where(overdispersed, mu + mu**2 / np.maximum(size, 1e-3), mu)
    variance = np.broadcast_to(variance, mu.shape)
    out = [_count_ppf(np.full(mu.shape, level), mu, variance) for level in levels]
    return np.sort(np.stack(out), axis=0)
