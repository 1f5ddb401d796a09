"""Batch runs of statsforecast models over many series: rolling-origin backtests plus the final forecasts.

One :func:`run_candidates` call fits every candidate model on every series through statsforecast's batch
``StatsForecast(models=..., freq=1, n_jobs=...)`` over a long data frame (integer time steps, so the engine does not
care about calendars), once per transform:

- ``"raw"``: the demand as is;
- ``"log"``: ``log(y + offset)``, which turns multiplicative seasonality and trend into additive ones. The offset is 0
  for strictly positive series and half the mean non-zero demand otherwise, so that a rare zero does not become a
  huge negative outlier.
- ``"sa-log"``: the log series minus a Fourier seasonal component (harmonics chosen by AICc, fitted with a level and
  trend), forecast by non-seasonal models, with the season added back. This is how long seasons (52 weeks) are
  handled: seasonal state-space models with 52 states are slow, and ETS in statsforecast has none beyond 24. For the
  backtests the season is estimated on the data before the oldest window only.

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
RAW, LOG, SEASONALLY_ADJUSTED_LOG = "raw", "log", "sa-log"
TRANSFORMS: tuple[str, ...] = (RAW, LOG, SEASONALLY_ADJUSTED_LOG)
MAX_FOURIER_HARMONICS = 10
SEASONAL_NAIVE = "snaive"
MAX_ETS_SEASON_LENGTH = 24  # statsforecast's ETS has no seasonal states beyond 24 periods
EXPLOSION_FACTOR = 20.0  # a forecast above 20x the largest observed demand is treated as a failed fit
PARALLEL_MIN_SERIES = 200  # below this a process pool costs more than it saves


def make_model(name: str, season_length: int, *, log_scale: bool = False) -> object:
    """A statsforecast model instance whose alias is ``name``.

    On the log scale ETS gets additive errors only: multiplicative structure is already additive there, and it
    halves the number of ETS variants tried.
    """
    from statsforecast import models as sf_models  # deferred: importing statsforecast costs about a second

    seasonal = season_length > 1
    if name == "ets":
        ets_season = season_length if season_length <= MAX_ETS_SEASON_LENGTH else 1
        return sf_models.AutoETS(season_length=ets_season, model="AZZ" if log_scale else "ZZZ", alias=name)
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


def fourier_terms(time_index: FloatArray, season_length: int, harmonics: int) -> FloatArray:
    """Columns sin(2 pi k t / m), cos(2 pi k t / m) for k = 1..harmonics."""
    angles = 2.0 * np.pi * np.outer(time_index, np.arange(1, harmonics + 1)) / season_length
    return np.column_stack([np.sin(angles), np.cos(angles)]) if harmonics else np.empty((len(time_index), 0))


def fit_fourier_season(values: FloatArray, season_length: int) -> tuple[FloatArray, int]:
    """Fourier seasonal coefficients of a series (regressed with a level and a linear trend), harmonics by AICc.

    Returns (coefficients, harmonics); the seasonal component at time t is ``fourier_terms(t) @ coefficients``.
    """
    n = len(values)
    t = np.arange(n, dtype=float)
    base = np.column_stack([np.ones(n), t / max(n - 1, 1)])
    best: tuple[float, FloatArray, int] = (np.inf, np.zeros(0), 0)
    for harmonics in range(0, min(MAX_FOURIER_HARMONICS, (season_length - 1) // 2) + 1, 2):
        design = np.column_stack([base, fourier_terms(t, season_length, harmonics)])
        parameters = design.shape[1]
        if n - parameters - 1 <= 0:
            break
        coefficients, *_ = np.linalg.lstsq(design, values, rcond=None)
        residual_ss = float(np.sum((values - design @ coefficients) ** 2))
        aicc = n * np.log(max(residual_ss, 1e-12) / n) + 2 * parameters
        aicc += 2 * parameters * (parameters + 1) / (n - parameters - 1)
        if aicc < best[0]:
            best = (aicc, coefficients[2:], harmonics)
    return best[1], best[2]


@dataclass(frozen=True)
class _TransformedSeries:
    """A series in model space, for the backtest and for the final fit, and the season to add back to forecasts."""

    backtest_input: FloatArray
    forecast_input: FloatArray
    backtest_season: FloatArray  # (windows, horizon)
    future_season: FloatArray  # (horizon,)


def _prepare_transform(
    history: FloatArray, transform: str, offset: float, season_length: int, horizon: int, n_windows: int, step: int
) -> _TransformedSeries:
    n = len(history)
    values = to_log(history, offset) if transform in (LOG, SEASONALLY_ADJUSTED_LOG) else history
    if transform != SEASONALLY_ADJUSTED_LOG:
        return _TransformedSeries(values, values, np.zeros((n_windows, horizon)), np.zeros(horizon))
    window_cutoffs = backtest_window_cutoffs(n, horizon, n_windows, step)
    t_all = np.arange(n + horizon, dtype=float)
    # The backtest's season is estimated on data before the oldest backtest window only: no peeking.
    train_end = int(window_cutoffs[0]) if n_windows else n
    backtest_coefficients, backtest_harmonics = fit_fourier_season(values[:train_end], season_length)
    backtest_season = fourier_terms(t_all, season_length, backtest_harmonics) @ backtest_coefficients
    coefficients, harmonics = fit_fourier_season(values, season_length)
    season = fourier_terms(t_all, season_length, harmonics) @ coefficients
    return _TransformedSeries(
        backtest_input=values - backtest_season[:n],
        forecast_input=values - season[:n],
        backtest_season=np.asarray([backtest_season[c : c + horizon] for c in window_cutoffs]).reshape(-1, horizon),
        future_season=season[n:],
    )


def _untransform(predicted: FloatArray, transform: str, offsets: FloatArray) -> FloatArray:
    return predicted if transform == RAW else from_log(predicted, offsets)


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

    for transform in transforms:
        if transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {transform!r}; choose from {TRANSFORMS}")
        # Seasonally adjusted series are fitted by non-seasonal models; their season is added back afterwards.
        model_season = 1 if transform == SEASONALLY_ADJUSTED_LOG else season_length
        fallback = SeasonalNaive(season_length=model_season) if model_season > 1 else Naive()
        model_columns = np.asarray([names.index(candidate_name(m, transform)) for m in model_names])
        for count in (int(c) for c in np.unique(windows_per_series)):
            members = np.flatnonzero(windows_per_series == count)
            prepared = [
                _prepare_transform(series[i], transform, offsets[i], season_length, horizon, count, step)
                for i in members
            ]
            engine = StatsForecast(
                models=[make_model(m, model_season, log_scale=transform != RAW) for m in model_names],
                freq=1,
                n_jobs=n_jobs if len(members) >= PARALLEL_MIN_SERIES else 1,
                fallback_model=fallback,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                forecast_frame = engine.forecast(h=horizon, df=_long_frame([p.forecast_input for p in prepared]))
                predicted = _column_block(
                    forecast_frame.sort_values(["unique_id", "ds"], kind="stable"), model_names, len(members), horizon
                )
                if count:
                    cv_frame = engine.cross_validation(
                        h=horizon,
                        df=_long_frame([p.backtest_input for p in prepared]),
                        n_windows=count,
                        step_size=step,
                        refit=refit,
                    )
                    cv_predicted = _column_block(
                        cv_frame.sort_values(["unique_id", "cutoff", "ds"], kind="stable"),
                        model_names,
                        len(members),
                        count * horizon,
                    ).reshape(len(members), len(model_names), count, horizon)
            future_season = np.stack([p.future_season for p in prepared])[:, None, :]
            future[np.ix_(members, model_columns)] = _untransform(
                predicted + future_season, transform, offsets[members, None, None]
            )
            if count:
                backtest_season = np.stack([p.backtest_season for p in prepared])[:, None, :, :]
                backtest[members[:, None], model_columns[None, :], max_windows - count :] = _untransform(
                    cv_predicted + backtest_season, transform, offsets[members, None, None, None]
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
