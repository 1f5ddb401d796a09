"""Batch runs of statsforecast models over many series: rolling-origin backtests plus the final forecasts.

One :func:`run_candidates` call fits every candidate model on every series through statsforecast's batch
``StatsForecast(models=..., freq=1, n_jobs=...)`` over a long data frame (integer time steps, so the engine does not
care about calendars), once per transform:

- ``"raw"``: the demand as is;
- ``"log"``: ``log(y + offset)``, which turns multiplicative seasonality and trend into additive ones. The offset is 0
  for strictly positive series and half the mean non-zero demand otherwise, so that a rare zero does not become a
  huge negative outlier.

The seasonal naive forecast is computed beside the models with numpy and is also a candidate ("snaive").
Candidates are named ``"ets"`` (raw demand) or ``"ets/log"`` (log scale).
Backtests use the last ``n_windows`` windows of ``horizon`` periods, ``step`` periods apart; series with a shorter
history get fewer windows. Windows are aligned on the most recent one (index ``-1``), and missing windows are NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

REGULAR_MODEL_NAMES: tuple[str, ...] = ("ets", "theta", "ces", "arima", "mstl")
INTERMITTENT_MODEL_NAMES: tuple[str, ...] = ("croston_sba", "tsb", "adida", "imapa", "croston_optimized")
TRANSFORMS: tuple[str, ...] = ("raw", "log")
SEASONAL_NAIVE = "snaive"
MAX_ETS_SEASON_LENGTH = 24  # statsforecast's ETS has no seasonal states beyond 24 periods
EXPLOSION_FACTOR = 20.0  # a forecast above 20x the largest observed demand is treated as a failed fit
PARALLEL_MIN_SERIES = 200  # below this a process pool costs more than it saves


def make_model(name: str, season_length: int) -> object:
    """A statsforecast model instance whose alias is ``name``."""
    from statsforecast import models as sf_models  # deferred: importing statsforecast costs about a second

    seasonal = season_length > 1
    if name == "ets":
        ets_season = season_length if season_length <= MAX_ETS_SEASON_LENGTH else 1
        return sf_models.AutoETS(season_length=ets_season, alias=name)
    if name == "theta":
        return sf_models.AutoTheta(season_length=season_length, alias=name)
    if name == "ces":
        return sf_models.AutoCES(season_length=season_length, alias=name)
    if name == "arima":
        return sf_models.AutoARIMA(season_length=season_length, alias=name)
    if name == "mstl":
        if not seasonal:
            raise ValueError("mstl needs a season length above 1")
        return sf_models.MSTL(season_length=season_length, alias=name)
    if name == "croston_sba":
        return sf_models.CrostonSBA(alias=name)
    if name == "croston_optimized":
        return sf_models.CrostonOptimized(alias=name)
    if name == "tsb":
        # Smoothing weights typical for retail intermittent demand; TSB has no built-in optimizer in statsforecast.
        return sf_models.TSB(alpha_d=0.1, alpha_p=0.1, alias=name)
    if name == "adida":
        return sf_models.ADIDA(alias=name)
    if name == "imapa":
        return sf_models.IMAPA(alias=name)
    raise ValueError(f"unknown model {name!r}; choose from {REGULAR_MODEL_NAMES + INTERMITTENT_MODEL_NAMES}")


def candidate_name(model: str, transform: str) -> str:
    """``"ets"`` for a model on the raw demand, ``"ets/log"`` for the same model on the log scale."""
    return model if transform == "raw" else f"{model}/{transform}"


def log_offset(history: FloatArray) -> float:
    """Offset added before taking logs: 0 for strictly positive series, half the mean non-zero demand otherwise."""
    positive = history[history > 0]
    if len(positive) == len(history) and len(history):
        return 0.0
    return 0.5 * float(positive.mean()) if len(positive) else 1.0


def to_log(values: npt.ArrayLike, offset: float | FloatArray) -> FloatArray:
    # Forecasts can dip below -offset; the floor keeps the log finite (about 1e-6 of the offset or 1e-9).
    shifted = np.asarray(values, dtype=float) + offset
    return np.log(np.maximum(shifted, np.maximum(1e-6 * np.asarray(offset, dtype=float), 1e-9)))


def from_log(values: npt.ArrayLike, offset: float | FloatArray) -> FloatArray:
    # Capped exponent: an exploding log-space forecast becomes huge (then rejected), never an overflow warning.
    return np.exp(np.minimum(np.asarray(values, dtype=float), 700.0)) - offset


def seasonal_naive_forecast(history: FloatArray, season_length: int, horizon: int) -> FloatArray:
    """Repeat the last season (the last value for non-seasonal or too-short series)."""
    lag = season_length if len(history) >= season_length else 1
    last_season = history[-lag:]
    return np.resize(last_season, horizon).astype(float)


def backtest_window_cutoffs(n_observations: int, horizon: int, n_windows: int, step: int) -> IntArray:
    """Training lengths of the last ``n_windows`` windows, oldest first."""
    last = n_observations - horizon
    return np.asarray([last - step * (n_windows - 1 - w) for w in range(n_windows)], dtype=np.int64)


def feasible_windows(n_observations: int, horizon: int, max_windows: int, step: int, min_train: int) -> int:
    """How many backtest windows fit while the oldest one still trains on at least ``min_train`` periods."""
    room = n_observations - horizon - min_train
    if room < 0:
        return 0
    return int(min(max_windows, room // step + 1))


@dataclass(frozen=True)
class CandidateRun:
    """Forecasts of every candidate for every series, in original units (negative values already clipped to 0)."""

    candidate_names: tuple[str, ...]
    future: FloatArray  # (series, candidates, horizon)
    backtest: FloatArray  # (series, candidates, windows, horizon); NaN where a series has fewer windows
    actuals: FloatArray  # (series, windows, horizon)
    cutoffs: IntArray  # (series, windows): training length of each window, -1 where absent
    n_windows: IntArray  # (series,)


def _long_frame(histories: Sequence[FloatArray]) -> pd.DataFrame:
    lengths = np.fromiter((len(h) for h in histories), dtype=np.int64, count=len(histories))
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(histories), dtype=np.int64), lengths),
            "ds": np.concatenate([np.arange(n, dtype=np.int64) for n in lengths]),
            "y": np.concatenate(histories).astype(float),
        }
    )


def _column_block(frame: pd.DataFrame, names: Sequence[str], n_series: int, per_series: int) -> FloatArray:
    """Model columns reshaped to (series, models, per_series), rows already sorted by series and time."""
    block = frame[list(names)].to_numpy(dtype=float)
    return block.reshape(n_series, per_series, len(names)).transpose(0, 2, 1)


def run_candidates(
    histories: Sequence[npt.ArrayLike],
    *,
    model_names: Sequence[str],
    transforms: Sequence[str],
    season_length: int,
    horizon: int,
    n_windows: Sequence[int] | IntArray,
    step: int,
    refit: bool,
    n_jobs: int = 1,
) -> CandidateRun:
    """Backtest and forecast every (model, transform) candidate on every series, plus the seasonal naive.

    ``n_windows[i]`` is the number of backtest windows of series ``i`` (0: forecast only). ``refit=False`` fits each
    model once on the oldest window and rolls it forward with fixed parameters (cheap); ``True`` refits per window.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import Naive, SeasonalNaive

    series = [np.asarray(h, dtype=float) for h in histories]
    windows_per_series = np.asarray(n_windows, dtype=np.int64)
    n_series, max_windows = len(series), int(windows_per_series.max(initial=0))
    pairs = [(model, transform) for transform in transforms for model in model_names]
    names = (*tuple(candidate_name(model, transform) for model, transform in pairs), SEASONAL_NAIVE)
    future = np.full((n_series, len(names), horizon), np.nan)
    backtest = np.full((n_series, len(names), max_windows, horizon), np.nan)
    actuals = np.full((n_series, max_windows, horizon), np.nan)
    cutoffs = np.full((n_series, max_windows), -1, dtype=np.int64)
    offsets = np.asarray([log_offset(h) for h in series])

    for i, history in enumerate(series):
        future[i, -1] = seasonal_naive_forecast(history, season_length, horizon)
        count = int(windows_per_series[i])
        for w, cutoff in enumerate(backtest_window_cutoffs(len(history), horizon, count, step)):
            slot = max_windows - count + w
            cutoffs[i, slot] = cutoff
            actuals[i, slot] = history[cutoff : cutoff + horizon]
            backtest[i, -1, slot] = seasonal_naive_forecast(history[:cutoff], season_length, horizon)

    fallback = SeasonalNaive(season_length=season_length) if season_length > 1 else Naive()
    for transform in transforms:
        transformed = [to_log(h, offsets[i]) if transform == "log" else h for i, h in enumerate(series)]
        model_columns = [names.index(candidate_name(m, transform)) for m in model_names]
        for count in np.unique(windows_per_series):
            members = np.flatnonzero(windows_per_series == count)
            group = [transformed[i] for i in members]
            frame = _long_frame(group)
            jobs = n_jobs if len(group) >= PARALLEL_MIN_SERIES else 1
            engine = StatsForecast(
                models=[make_model(m, season_length) for m in model_names],
                freq=1,
                n_jobs=jobs,
                fallback_model=fallback,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forecast_frame = engine.forecast(h=horizon, df=frame).sort_values(["unique_id", "ds"], kind="stable")
                predicted = _column_block(forecast_frame, model_names, len(group), horizon)
                if count > 0:
                    cv_frame = engine.cross_validation(
                        h=horizon, df=frame, n_windows=int(count), step_size=step, refit=refit
                    ).sort_values(["unique_id", "cutoff", "ds"], kind="stable")
                    cv_predicted = _column_block(cv_frame, model_names, len(group), int(count) * horizon)
            if transform == "log":
                predicted = from_log(predicted, offsets[members, None, None])
            future[np.ix_(members, model_columns)] = predicted
            if count > 0:
                cv_predicted = cv_predicted.reshape(len(group), len(model_names), int(count), horizon)
                if transform == "log":
                    cv_predicted = from_log(cv_predicted, offsets[members, None, None, None])
                backtest[members[:, None], np.asarray(model_columns)[None, :], max_windows - int(count) :] = (
                    cv_predicted
                )

    np.clip(future, 0.0, None, out=future)
    np.clip(backtest, 0.0, None, out=backtest)
    # An exploding forecast (far beyond anything seen) counts as a failed fit, like a NaN one.
    ceiling = EXPLOSION_FACTOR * np.asarray([max(float(h.max(initial=0.0)), 1e-9) for h in series])
    future[future > ceiling[:, None, None]] = np.nan
    backtest[backtest > ceiling[:, None, None, None]] = np.nan
    # A model that failed even through the fallback leaves NaN: use the seasonal naive instead.
    future = np.where(np.isnan(future), future[:, -1:, :], future)
    backtest = np.where(np.isnan(backtest) & ~np.isnan(backtest[:, -1:]), backtest[:, -1:], backtest)
    return CandidateRun(names, future, backtest, actuals, cutoffs, windows_per_series)
