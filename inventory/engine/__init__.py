"""Inventory optimization engine (no Django): reorder policies from forecast quantiles, budget/capacity optimization,
and a simulator to compare ordering rules.

    from inventory.engine import PlanSettings, ProductInventoryInput, reorder_plan_compute

    plan = reorder_plan_compute(products, PlanSettings(review_period=1, periods_per_year=52), budget=5_000.0)
    for line in plan.lines_to_order():
        print(line.product_id, line.order_quantity, line.reorder_point, line.order_up_to, line.expected_fill_rate)

Modules: :mod:`~inventory.engine.demand_distribution` (demand over lead time + review period from P10/P50/P90),
:mod:`~inventory.engine.policy` (newsvendor, safety stock, reorder point, EOQ, (s, S), plan lines),
:mod:`~inventory.engine.dynamic` (the default rule's (s, S): a dynamic program over the next reviews),
:mod:`~inventory.engine.optimize` (the MILP under budget and capacity, HiGHS), :mod:`~inventory.engine.plan`
(both together), :mod:`~inventory.engine.simulate` (replay demand through a rule; naive and hindsight baselines).
"""

from inventory.engine.demand_distribution import (
    DemandDistribution,
    interval_distribution,
    period_moments_from_quantiles,
)
from inventory.engine.errors import InventoryInputError
from inventory.engine.optimize import (
    OrderCandidates,
    OrderOptimizationResult,
    expected_profit_breakpoints,
    optimize_orders,
)
from inventory.engine.plan import order_candidates_from_policy, reorder_plan_compute
from inventory.engine.policy import (
    PlanSettings,
    PolicyArrays,
    ProductArrays,
    ProductInventoryInput,
    ReorderPlanLineResult,
    ReorderPlanResult,
    compute_policy_arrays,
)
from inventory.engine.simulate import (
    FixedOrderUpTo,
    FixedReorderPointOrderUpTo,
    HindsightResult,
    NaiveLastPeriodSales,
    RollingPlanPolicy,
    SimulationCosts,
    SimulationResult,
    StockLedger,
    best_fixed_order_up_to,
    best_fixed_reorder_point_order_up_to,
    simulate_inventory,
)

__all__ = [
    "DemandDistribution",
    "FixedOrderUpTo",
    "FixedReorderPointOrderUpTo",
    "HindsightResult",
    "InventoryInputError",
    "NaiveLastPeriodSales",
    "OrderCandidates",
    "OrderOptimizationResult",
    "PlanSettings",
    "PolicyArrays",
    "ProductArrays",
    "ProductInventoryInput",
    "ReorderPlanLineResult",
    "ReorderPlanResult",
    "RollingPlanPolicy",
    "SimulationCosts",
    "SimulationResult",
    "StockLedger",
    "best_fixed_order_up_to",
    "best_fixed_reorder_point_order_up_to",
    "compute_policy_arrays",
    "expected_profit_breakpoints",
    "interval_distribution",
    "optimize_orders",
    "order_candidates_from_policy",
    "period_moments_from_quantiles",
    "reorder_plan_compute",
    "simulate_inventory",
]
