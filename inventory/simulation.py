"""Replay sampled forecast demand through a stored plan and through the naive rule, with the engine's simulator.

Plain numpy (no Django), called by `inventory.planning` when a plan is written, so that staff see what the plan
is expected to save. Demand is sampled per period from the forecast quantiles (a gamma with the period's mean and
variance, see `inventory.engine.demand_distribution`), in several scenarios per product; lead times are drawn per
order from Normal(mean, std) rounded to whole periods; both rules face the same demand and the same delays.

- **plan**: order the plan's quantity now, then at every review bring the inventory position up to the order-up-to
  level S whenever it is below the reorder point s;
- **naive**: at every review order what sold since the last review (the first review uses the last review
  period's actual sales from the forecast's history).

Costs are the simulator's: holding on end-of-period stock, a fixed cost per order, lost margin + stockout cost per
unit of lost demand (purchases are left out, see `inventory.engine.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from inventory.engine import (
    NaiveLastPeriodSales,
    SimulationCosts,
    SimulationResult,
    period_moments_from_quantiles,
    simulate_inventory,
)
from inventory.engine.simulate import SimulationState

MAX_LANES = 50_000  # products x scenarios simulated at once (memory: ~8 arrays of periods x lanes)
MAX_SCENARIOS = 20
MAX_PERIODS = 104


@dataclass(frozen=True)
class PlanSimulationInput:
    """Per-product arrays (one entry per product) and per-period forecasts (products x horizon)."""

    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    on_hand: np.ndarray
    arrivals: np.ndarray  # (k x products): units already on the way, arriving in periods 0..k-1
    lead_time_mean: np.ndarray  # periods
    lead_time_std: np.ndarray
    review_period: int
    pack_size: np.ndarray
    min_order_qty: np.ndarray
    first_order: np.ndarray  # the plan's order now
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    last_review_sales: np.ndarray  # sales of the last review period, for the naive rule's first order
    holding_per_unit_period: np.ndarray
    order_cost: np.ndarray
    shortage_per_unit: np.ndarray
    unit_cost: np.ndarray


@dataclass(frozen=True)
class RuleFigures:
    """One rule's simulated outcome: totals over products (averaged over scenarios), and per product."""

    total_cost: float
    holding_cost: float
    ordering_cost: float
    shortage_cost: float
    fill_rate: float
    stockout_periods: float  # product-periods with lost demand, per scenario
    average_on_hand: float  # units, summed over products
    orders_placed: float
    product_cost: np.ndarray
    product_fill_rate: np.ndarray

    def as_dict(self) -> dict[str, float]:
        return {
            name: round(float(getattr(self, name)), 6)
            for name in (
                "total_cost",
                "holding_cost",
                "ordering_cost",
                "shortage_cost",
                "fill_rate",
                "stockout_periods",
                "average_on_hand",
                "orders_placed",
            )
        }


@dataclass(frozen=True)
class PlanSimulation:
    plan: RuleFigures
    naive: RuleFigures
    periods: int
    scenarios: int

    def as_dict(self) -> dict[str, object]:
        saving = None
        if self.naive.total_cost > 0:
            saving = round(1.0 - self.plan.total_cost / self.naive.total_cost, 6)
        return {
            "plan": self.plan.as_dict(),
            "naive": self.naive.as_dict(),
            "periods": self.periods,
            "scenarios": self.scenarios,
            "saving_vs_naive": saving,
        }


class PlanThenReorderPoint:
    """The plan as an order rule: its quantities at the first review, then (s, S) on the inventory position."""

    def __init__(self, first_order: np.ndarray, reorder_point: np.ndarray, order_up_to: np.ndarray) -> None:
        self.first_order = first_order
        self.reorder_point = reorder_point
        self.order_up_to = order_up_to

    def __call__(self, state: SimulationState) -> np.ndarray:
        if state.period == 0:
            return self.first_order
        position = state.inventory_position
        return np.where(position < self.reorder_point, np.maximum(self.order_up_to - position, 0.0), 0.0)


def _sample_demand(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, periods: int, scenarios: int, rng: np.random.Generator
) -> np.ndarray:
    """(periods x products*scenarios) demand, lane-major (each product's scenarios side by side)."""
    mean, var = period_moments_from_quantiles(p10, p50, p90)
    horizon = mean.shape[1]
    columns = np.minimum(np.arange(periods), horizon - 1)  # beyond the forecast, repeat its last period
    mean, var = mean[:, columns].T, var[:, columns].T  # periods x products
    mean = np.repeat(mean, scenarios, axis=1)
    var = np.repeat(var, scenarios, axis=1)
    random = mean > 0
    spread = random & (var > 1e-12)
    shape = np.where(spread, mean**2 / np.where(spread, var, 1.0), 1.0)
    scale = np.where(spread, var / np.where(mean > 0, mean, 1.0), 1.0)
    sampled = rng.gamma(shape, scale)
    return np.where(spread, sampled, np.maximum(mean, 0.0))


def _figures(result: SimulationResult, n_products: int, scenarios: int) -> RuleFigures:
    per_lane_demand = result.ledger.demand.sum(axis=0)
    per_lane_sales = result.ledger.sales.sum(axis=0)
    demand = per_lane_demand.reshape(n_products, scenarios).sum(axis=1)
    sales = per_lane_sales.reshape(n_products, scenarios).sum(axis=1)
    product_fill = np.divide(sales, demand, out=np.ones(n_products), where=demand > 0)
    total_demand = per_lane_demand.sum()
    return RuleFigures(
        total_cost=float(result.total_cost.sum() / scenarios),
        holding_cost=float(result.holding_cost.sum() / scenarios),
        ordering_cost=float(result.ordering_cost.sum() / scenarios),
        shortage_cost=float(result.shortage_cost.sum() / scenarios),
        fill_rate=float(per_lane_sales.sum() / total_demand) if total_demand > 0 else 1.0,
        stockout_periods=float(result.stockout_periods.sum() / scenarios),
        average_on_hand=float(result.average_on_hand.sum() / scenarios),
        orders_placed=float(result.orders_placed.sum() / scenarios),
        product_cost=result.total_cost.reshape(n_products, scenarios).mean(axis=1),
        product_fill_rate=product_fill,
    )


def simulate_plan_against_naive(
    data: PlanSimulationInput, *, periods: int, seed: int = 0, scenarios: int | None = None
) -> PlanSimulation:
    """Simulate the plan and the naive rule over `periods` periods of sampled demand (same demand, same delays)."""
    n_products = len(data.on_hand)
    if scenarios is None:
        scenarios = int(np.clip(MAX_LANES // max(n_products, 1), 1, MAX_SCENARIOS))
    periods = int(np.clip(periods, 1, MAX_PERIODS))
    rng = np.random.default_rng(seed)
    demand = _sample_demand(data.p10, data.p50, data.p90, periods, scenarios, rng)
    lanes = n_products * scenarios

    def per_lane(values: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=float), scenarios)

    lead = np.rint(
        per_lane(data.lead_time_mean)[None, :]
        + per_lane(data.lead_time_std)[None, :] * rng.standard_normal((periods, lanes))
    )
    lead = np.maximum(lead, 0).astype(np.int64)
    arrivals = np.repeat(np.atleast_2d(np.asarray(data.arrivals, dtype=float)), scenarios, axis=1)
    costs = SimulationCosts(
        holding_per_unit_period=data.holding_per_unit_period,
        order_cost=data.order_cost,
        shortage_per_unit=data.shortage_per_unit,
        unit_cost=data.unit_cost,
    ).repeat(scenarios)
    common: dict[str, Any] = {
        "costs": costs,
        "initial_on_hand": per_lane(data.on_hand),
        "lead_times": lead,
        "review_period": int(data.review_period),
        "pack_size": per_lane(data.pack_size),
        "min_order_qty": per_lane(data.min_order_qty),
        "initial_arrivals": arrivals if arrivals.size else None,
    }
    plan_rule = PlanThenReorderPoint(
        per_lane(data.first_order), per_lane(data.reorder_point), per_lane(data.order_up_to)
    )
    plan = simulate_inventory(demand, plan_rule, **common)
    naive = simulate_inventory(
        demand, NaiveLastPeriodSales(), history=per_lane(data.last_review_sales)[None, :], **common
    )
    return PlanSimulation(
        plan=_figures(plan, n_products, scenarios),
        naive=_figures(naive, n_products, scenarios),
        periods=periods,
        scenarios=scenarios,
    )
