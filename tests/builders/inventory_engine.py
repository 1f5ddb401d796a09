"""Shared inputs for the inventory engine tests."""

from __future__ import annotations

import numpy as np

from inventory.engine.demand_distribution import Z_90
from inventory.engine.policy import ProductArrays, ProductInventoryInput


def product_arrays(n: int, **overrides: np.ndarray) -> ProductArrays:
    """``n`` products with plain defaults (cost 4, price 6, 25% holding a year, lead time 1, no fixed cost, packs
    of 1); the forecast and stock fields are placeholders that a rolling plan replaces at every review."""
    fields: dict[str, np.ndarray] = {
        "product_ids": np.array([f"p{i}" for i in range(n)], dtype=object),
        "p10": np.ones((n, 1)),
        "p50": np.ones((n, 1)),
        "p90": np.ones((n, 1)),
        "on_hand": np.zeros(n),
        "unit_cost": np.full(n, 4.0),
        "on_order": np.zeros(n),
        "unit_price": np.full(n, 6.0),
        "stockout_cost": np.zeros(n),
        "holding_cost_rate": np.full(n, 0.25),
        "order_cost": np.zeros(n),
        "lead_time_mean": np.ones(n),
        "lead_time_std": np.zeros(n),
        "min_order_qty": np.zeros(n),
        "pack_size": np.ones(n),
        "unit_volume": np.zeros(n),
        "service_level": np.full(n, np.nan),
    }
    fields.update(overrides)
    return ProductArrays(**fields)


def normal_forecast(mean: float, sd: float, periods: int = 6) -> dict[str, list[float]]:
    """Per-period P10/P50/P90 of a normal demand with this mean and sd."""
    return {"p10": [mean - Z_90 * sd] * periods, "p50": [mean] * periods, "p90": [mean + Z_90 * sd] * periods}


def normal_product(**overrides: object) -> ProductInventoryInput:
    """Normal demand 100 +- 20 per period, cost 10, price 13, holding 120% a year, no lead time (monthly periods:
    h = 1 per unit and period, cu = 3)."""
    fields: dict[str, object] = {
        "product_id": "sku-1",
        **normal_forecast(100.0, 20.0),
        "on_hand": 0.0,
        "unit_cost": 10.0,
        "unit_price": 13.0,
        "holding_cost_rate": 1.2,
        "lead_time_mean": 0.0,
    }
    fields.update(overrides)
    return ProductInventoryInput(**fields)
