"""Customer segments with human-readable names, from recency / frequency rules (RFM).

Rules are checked in order and the first that matches names the segment, so each customer gets exactly one:

1. Prospects      — has never bought.
2. Champions      — bought within ``recent_days`` and at least ``frequent_orders`` orders in the last 365 days.
3. New            — first order within ``new_days``.
4. Loyal          — bought within ``active_days`` and at least 2 orders in the last 365 days.
5. Promising      — bought within ``active_days`` (a single order in the last year).
6. At risk        — last order ``active_days``..``lapsed_days`` ago, a repeat buyer (2+ orders ever).
7. About to sleep — last order ``active_days``..``lapsed_days`` ago, a single order ever.
8. Hibernating    — no order for more than ``lapsed_days``.

Thresholds are days and order counts a store manager can read; ``SegmentRules.for_store`` raises the
"frequent" bar to the store's own upper quartile so Champions stay a top group in busy stores.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

SEGMENT_NAMES = (
    "Prospects",
    "Champions",
    "New",
    "Loyal",
    "Promising",
    "At risk",
    "About to sleep",
    "Hibernating",
)


@dataclass(frozen=True)
class SegmentRules:
    recent_days: float = 30.0
    active_days: float = 90.0
    lapsed_days: float = 180.0
    new_days: float = 30.0
    frequent_orders: float = 3.0  # orders in the last 365 days

    @classmethod
    def for_store(cls, features: pd.DataFrame, *, quantile: float = 0.75, **overrides: float) -> SegmentRules:
        """Rules whose frequency bar is the store's upper quartile of yearly orders (at least 3)."""
        yearly_orders = features.loc[features["orders_365d"] > 0, "orders_365d"]
        bar = float(np.ceil(yearly_orders.quantile(quantile))) if len(yearly_orders) else 3.0
        values = {"frequent_orders": max(3.0, bar)}
        values.update(overrides)
        return cls(**values)

    def describe(self) -> dict[str, str]:
        """Each segment's rule in words, for staff pages."""
        return {
            "Prospects": "has never bought",
            "Champions": (
                f"bought in the last {self.recent_days:g} days and {self.frequent_orders:g}+ orders in the last year"
            ),
            "New": f"first order in the last {self.new_days:g} days",
            "Loyal": f"bought in the last {self.active_days:g} days and 2+ orders in the last year",
            "Promising": f"bought in the last {self.active_days:g} days, one order in the last year",
            "At risk": (f"repeat buyer whose last order was {self.active_days:g}-{self.lapsed_days:g} days ago"),
            "About to sleep": f"one order ever, {self.active_days:g}-{self.lapsed_days:g} days ago",
            "Hibernating": f"no order for more than {self.lapsed_days:g} days",
        }

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def assign_segments(features: pd.DataFrame, rules: SegmentRules) -> pd.Series:
    """The segment name of each customer (same index as ``features``)."""
    recency = features["recency_days"].fillna(math.inf).to_numpy()
    first_order_age = features["days_since_first_order"].fillna(math.inf).to_numpy()
    orders_year = features["orders_365d"].to_numpy()
    orders_total = features["orders_total"].to_numpy()
    conditions = [
        orders_total <= 0,
        (recency <= rules.recent_days) & (orders_year >= rules.frequent_orders),
        first_order_age <= rules.new_days,
        (recency <= rules.active_days) & (orders_year >= 2),
        recency <= rules.active_days,
        (recency <= rules.lapsed_days) & (orders_total >= 2),
        recency <= rules.lapsed_days,
    ]
    names = np.select(conditions, list(SEGMENT_NAMES[:-1]), default=SEGMENT_NAMES[-1])
    return pd.Series(names, index=features.index, name="segment", dtype=object)
