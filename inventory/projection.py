"""Projected stock of one product under its plan line, period by period (for the staff chart).

Plain Python/numpy (no Django). Deterministic: demand is the forecast P50; at the start of each period the units
due arrive (shipments already on the way, then the plan's orders after their lead time); at each review the plan
orders (its quantity at the first review, then up to S whenever the inventory position is below the reorder point
s, in whole packs of at least the MOQ); then the period's demand is served from stock (what cannot be served is
lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StockProjection:
    """Per-period series, all of the same length."""

    demand: list[float]
    arrivals: list[float]
    orders: list[float]
    on_hand_end: list[float]
    position_end: list[float]
    lost_sales: list[float]


def project_stock(
    *,
    on_hand: float,
    scheduled_arrivals: Sequence[float],
    demand: Sequence[float],
    first_order: float,
    lead_periods: int,
    review_periods: int,
    reorder_point: float,
    order_up_to: float,
    pack_size: float = 1.0,
    min_order_qty: float = 0.0,
) -> StockProjection:
    """Replay `demand` (one value per period) through the plan; see the module docstring for the order of events."""
    # Imported here: the engine's policy module pulls in scipy, which the admin pages importing this module
    # (through inventory.charts) should not load into every web worker.
    from inventory.engine.policy import orderable_quantity

    n_periods = len(demand)
    lead_periods = max(int(lead_periods), 0)
    review_periods = max(int(review_periods), 1)
    due = np.zeros(n_periods + lead_periods + 1)
    for period, units in enumerate(scheduled_arrivals):
        due[min(period, len(due) - 1)] += float(units)
    stock = float(on_hand)
    on_the_way = float(np.sum(scheduled_arrivals))
    arrivals, orders, end, position, lost = [], [], [], [], []
    for period in range(n_periods):
        received = due[period]
        stock += received
        on_the_way -= received
        ordered = 0.0
        if period % review_periods == 0:
            wanted = (
                first_order
                if period == 0
                else (order_up_to - (stock + on_the_way) if stock + on_the_way < reorder_point else 0.0)
            )
            ordered = float(orderable_quantity(np.array([wanted]), np.array([pack_size]), np.array([min_order_qty]))[0])
            if ordered > 0:
                if lead_periods == 0:
                    stock += ordered
                    received += ordered
                else:
                    due[period + lead_periods] += ordered
                    on_the_way += ordered
        sold = min(stock, float(demand[period]))
        stock -= sold
        arrivals.append(round(received, 3))
        orders.append(round(ordered, 3))
        end.append(round(stock, 3))
        position.append(round(stock + on_the_way, 3))
        lost.append(round(float(demand[period]) - sold, 3))
    return StockProjection(
        demand=[round(float(d), 3) for d in demand],
        arrivals=arrivals,
        orders=orders,
        on_hand_end=end,
        position_end=position,
        lost_sales=lost,
    )
