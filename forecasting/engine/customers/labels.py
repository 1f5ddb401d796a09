"""What each customer did in the period after a cut-off: the targets the models learn.

- ``spend_next``: money spent in ``[cutoff, cutoff + horizon)`` (0 when nothing was bought);
- ``churned``: 1 when the customer bought nothing in that period, else 0;
- ``next_category``: the category (in the store's vocabulary) of the first order after the cut-off — the
  biggest line of that order when it spans several — and missing when nothing was bought, because the
  next category is only defined for customers who buy again.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.engine.customers.data import CustomerTables, TimeLike, to_utc_timestamp
from forecasting.engine.customers.features import FeatureSpec

LABEL_COLUMNS = ("spend_next", "churned", "next_category")


def build_customer_labels(
    tables: CustomerTables,
    cutoff: TimeLike,
    customer_ids: pd.Index,
    spec: FeatureSpec,
    *,
    horizon_days: int = 90,
) -> pd.DataFrame:
    """Labels for ``customer_ids`` (index ``customer_id``) from the ``horizon_days`` after the cut-off."""
    cutoff = to_utc_timestamp(cutoff)
    window_end = cutoff + pd.Timedelta(days=horizon_days)
    orders = tables.orders
    window = orders[(orders["ordered_at"] >= cutoff) & (orders["ordered_at"] < window_end)]
    spend = window.groupby("customer_id")["amount"].sum()
    first_lines = (
        window.assign(label=spec.category_label(window["category"]), negative_amount=-window["amount"])
        .sort_values(["ordered_at", "order_id", "negative_amount"], kind="stable")
        .groupby("customer_id")["label"]
        .first()
    )
    index = pd.Index(customer_ids, name="customer_id")
    spend_next = spend.reindex(index).fillna(0.0).astype(float)
    bought = index.isin(spend.index)
    next_category = first_lines.reindex(index).astype(object)
    return pd.DataFrame(
        {
            "spend_next": spend_next.to_numpy(),
            "churned": np.where(bought, 0, 1).astype(int),
            "next_category": next_category.where(next_category.notna(), None).to_numpy(),
        },
        index=index,
    )
