"""Shared inputs for the inventory engine tests."""

from __future__ import annotations

import numpy as np

from inventory.engine.policy import ProductArrays


def product_arrays(n: int, **overrides: np.ndarray) -> ProductArrays:
    """``n`` products with plain defaults (cost 4, price 6, 25% holding a year, lead time 1, no fixed cost, packs
    of 1); the forecast and stock fields are placeholders that a rolling plan replaces at every review."""
    fields: dict[str, np.ndarray] = {
        "product_ids": np.array([f"p{i}" for i in range(n)], dtype=object), "p10": np.ones((n, 1)),
        "p50": np.ones((n, 1)), "p90": np.ones((n, 1)), "on_hand": np.zeros(n), "unit_cost": np.full(n, 4.0),
        "on_order": np.zeros(n), "unit_price": np.full(n, 6.0), "stockout_cost": np.zeros(n),
        "holding_cost_rate": np.full(n, 0.25), "order_cost": np.zeros(n), "lead_time_mean": np.ones(n),
        "lead_time_std": np.zeros(n), "min_order_qty": np.zeros(n), "pack_size": np.ones(n),
        "unit_volume": np.zeros(n), "service_level": np.full(n, np.nan),
    }
    fields.update(overrides)
    return ProductArrays(**fields)
