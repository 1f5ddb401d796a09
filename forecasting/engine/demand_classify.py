"""Demand pattern classification by ADI and CV² (Syntetos-Boylan), deciding which model family forecasts a series.

- ADI (average demand interval) = active periods / periods with demand, over the active history (from the first
  period with demand to the end). ADI >= 1.32 means demand comes in gaps.
- CV² = (population standard deviation / mean)² of the non-zero demand sizes. CV² >= 0.49 means sizes vary a lot.

smooth (ADI < 1.32, CV² < 0.49) and erratic (ADI < 1.32, CV² >= 0.49) series go to the regular models;
intermittent (ADI >= 1.32, CV² < 0.49) and lumpy (ADI >= 1.32, CV² >= 0.49) series go to the models made for
intermittent demand (Croston/SBA, TSB, ADIDA, IMAPA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

ADI_THRESHOLD = 1.32
CV2_THRESHOLD = 0.49


class DemandClass(StrEnum):
    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"
    NO_DEMAND = "no_demand"  # not a single period with demand yet


@dataclass(frozen=True)
class DemandPattern:
    demand_class: DemandClass
    adi: float
    cv2: float
    active_periods: int  # periods from the first one with demand to the end of the history
    demand_periods: int  # periods with non-zero demand

    @property
    def is_intermittent(self) -> bool:
        return self.demand_class in (DemandClass.INTERMITTENT, DemandClass.LUMPY)


def first_demand_index(demand: npt.ArrayLike) -> int:
    """Index of the first period with demand (the length of the series if there is none)."""
    values = np.asarray(demand, dtype=float)
    nonzero = np.flatnonzero(values > 0)
    return int(nonzero[0]) if len(nonzero) else len(values)


def classify_demand(
    demand: npt.ArrayLike, *, adi_threshold: float = ADI_THRESHOLD, cv2_threshold: float = CV2_THRESHOLD
) -> DemandPattern:
    """Classify one series of non-negative demand per period (oldest first)."""
    values = np.asarray(demand, dtype=float)
    start = first_demand_index(values)
    active = values[start:]
    sizes = active[active > 0]
    if not len(sizes):
        return DemandPattern(DemandClass.NO_DEMAND, math.inf, math.nan, 0, 0)
    adi = len(active) / len(sizes)
    cv2 = float((sizes.std() / sizes.mean()) ** 2)
    if adi < adi_threshold:
        demand_class = DemandClass.SMOOTH if cv2 < cv2_threshold else DemandClass.ERRATIC
    else:
        demand_class = DemandClass.INTERMITTENT if cv2 < cv2_threshold else DemandClass.LUMPY
    return DemandPattern(demand_class, float(adi), cv2, len(active), len(sizes))
