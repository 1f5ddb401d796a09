"""One age banding for every app, so figures per age group (fairness, segments) mean the same everywhere.

Plain numpy, no Django: the engines (recommendations' segments, forecasting's customer models) use it as
well as the Django layers. Bands are closed below and open above: 25 is in "25-34", 24 in "18-24".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

AGE_BAND_EDGES: tuple[int, ...] = (18, 25, 35, 45, 55, 65)
AGE_BAND_LABELS: tuple[str, ...] = ("<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
UNKNOWN_AGE_BAND = "unknown"


def age_band(ages: Sequence[float] | np.ndarray) -> np.ndarray:
    """Age in years -> band code 0..6 (an index into AGE_BAND_LABELS); missing/NaN/negative -> -1."""
    ages = np.asarray(ages, dtype=np.float64)
    bands = np.searchsorted(np.asarray(AGE_BAND_EDGES), ages, side="right").astype(np.int32)
    bands[~np.isfinite(ages) | (ages < 0)] = -1
    return bands


def age_band_labels(ages: Sequence[float] | np.ndarray, *, unknown: str = UNKNOWN_AGE_BAND) -> np.ndarray:
    """Age in years -> band label ('<18', '18-24', ..., '65+'); `unknown` where the age is missing."""
    codes = age_band(ages)
    labels = np.asarray(AGE_BAND_LABELS, dtype=object)[np.maximum(codes, 0)]
    labels[codes < 0] = unknown
    return labels
