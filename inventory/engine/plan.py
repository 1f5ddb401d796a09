"""One call from inputs to a reorder plan: per-product policies, then the budget and capacity applied if they bind.

``reorder_plan_compute`` is what the Django layer calls after a forecast run:

    plan = reorder_plan_compute(products, PlanSettings(review_period=1, periods_per_year=52),
                                budget=5_000.0, volume_capacity=120.0)
    for line in plan.lines_to_order(): ...

When the suggested orders fit the budget and the free volume they are the plan. Otherwise the suggested quantities
become upper bounds for :func:`inventory.engine.optimize.optimize_orders`, which picks what to order within the limits
to maximize expected profit. If even that is infeasible (mandatory minimum orders that do not fit), the plan orders
nothing and ``plan.message`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inventory.engine.errors import InventoryInputError
from inventory.engine.optimize import (
    DEFAULT_MAX_BREAKPOINTS,
    CycleStockTerms,
    OrderCandidates,
    OrderOptimizationResult,
    expected_profit_breakpoints,
    optimize_orders,
)
from inventory.engine.policy import (
    PlanSettings,
    PolicyArrays,
    ProductArrays,
    ProductInventoryInput,
    ReorderPlanResult,
    build_plan_lines,
    compute_policy_arrays,
)


def order_candidates_from_policy(
    products: ProductArrays,
    policy: PolicyArrays,
    mandatory: np.ndarray | None = None,
    max_breakpoints: int = DEFAULT_MAX_BREAKPOINTS,
    review_period: float = 1.0,
) -> OrderCandidates:
    """Candidates for the optimizer: each product up to its suggested quantity, valued by the newsvendor profit
    (plus the fixed order costs a lot saves, for stock above the reorder point)."""
    n_products = len(products.product_ids)
    mandatory = np.zeros(n_products, dtype=bool) if mandatory is None else np.asarray(mandatory, dtype=bool)
    if mandatory.shape != (n_products,):
        raise InventoryInputError([f"mandatory must have one flag per product ({n_products}), got {mandatory.shape}"])
    max_quantity = np.maximum(
        policy.suggested_quantity, np.where(mandatory, np.maximum(products.min_order_qty, products.pack_size), 0.0)
    )
    quantity, profit = expected_profit_breakpoints(
        policy.demand_protection,
        policy.inventory_position,
        max_quantity,
        products.pack_size,
        products.min_order_qty,
        policy.underage_cost,
        policy.overage_cost,
        max_breakpoints,
        cycle_stock=CycleStockTerms(
            reorder_point=policy.reorder_point,
            mean_demand_per_period=policy.mean_demand_per_period,
            review_period=review_period,
            holding_cost_per_period=policy.holding_cost_per_period,
            order_cost=products.order_cost,
        ),
    )
    return OrderCandidates(
        product_ids=products.product_ids,
        unit_cost=products.unit_cost,
        unit_volume=products.unit_volume,
        pack_size=products.pack_size,
        min_order_qty=products.min_order_qty,
        order_cost=products.order_cost,
        max_quantity=max_quantity,
        mandatory=mandatory,
        breakpoint_quantity=quantity,
        breakpoint_profit=profit,
    )


def reorder_plan_compute(
    products: Sequence[ProductInventoryInput] | ProductArrays,
    settings: PlanSettings | None = None,
    *,
    budget: float | None = None,
    volume_capacity: float | None = None,
    mandatory: np.ndarray | None = None,
    time_limit: float = 10.0,
    mip_rel_gap: float = 1e-4,
) -> ReorderPlanResult:
    """Policies for every product and the orders to place now, within ``budget`` and ``volume_capacity``.

    ``volume_capacity`` is the free warehouse volume for this cycle's receipts (capacity minus the volume already
    stored and on order); ``None`` means unlimited, as does ``budget=None``.
    """
    settings = settings or PlanSettings()
    arrays = products if isinstance(products, ProductArrays) else ProductArrays.from_products(products)
    policy = compute_policy_arrays(arrays, settings)
    suggested = policy.suggested_quantity
    suggested_value = float(suggested @ arrays.unit_cost)
    suggested_volume = float(suggested @ arrays.unit_volume)

    over_budget = budget is not None and suggested_value > budget
    over_capacity = volume_capacity is not None and suggested_volume > volume_capacity
    negative_limit = (budget is not None and budget < 0) or (volume_capacity is not None and volume_capacity < 0)
    needs_mandatory = mandatory is not None and bool(np.any(np.asarray(mandatory) & (suggested <= 0)))
    optimization: OrderOptimizationResult | None = None
    if over_budget or over_capacity or negative_limit or needs_mandatory:
        candidates = order_candidates_from_policy(arrays, policy, mandatory, review_period=settings.review_period)
        optimization = optimize_orders(
            candidates, budget=budget, volume_capacity=volume_capacity, time_limit=time_limit, mip_rel_gap=mip_rel_gap
        )
        order_quantity = optimization.quantities
        reasons = [
            text
            for flag, text in (
                (
                    over_budget,
                    f"suggested orders cost {suggested_value:,.2f}, over the "
                    f"{budget if budget is not None else 0:,.2f} budget",
                ),
                (
                    over_capacity,
                    f"they need {suggested_volume:,.2f} volume, over the "
                    f"{volume_capacity if volume_capacity is not None else 0:,.2f} free",
                ),
            )
            if flag
        ]
        message = ("; ".join(reasons) + ". " if reasons else "") + optimization.message
    else:
        order_quantity = suggested
        message = "The suggested orders fit the budget and the capacity."

    lines = build_plan_lines(arrays, policy, settings.review_period, order_quantity)
    return ReorderPlanResult(
        lines=lines,
        policy=policy,
        suggested_value=suggested_value,
        suggested_volume=suggested_volume,
        order_value=float(order_quantity @ arrays.unit_cost),
        order_volume=float(order_quantity @ arrays.unit_volume),
        budget=budget,
        volume_capacity=volume_capacity,
        optimization=optimization,
        message=message,
    )
