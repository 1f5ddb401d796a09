"""Multi-product order optimization under a budget and a warehouse capacity, as a MILP solved by HiGHS.

When the policy's suggested orders cost more than the budget or take more room than the free capacity, this module
chooses how much of each product to order so as to maximize the expected profit of the protection interval:

    maximize   sum_i  g_i(q_i) - K_i z_i
    subject to sum_i  unit_cost_i q_i   <= budget
               sum_i  unit_volume_i q_i <= free volume
               q_i = pack_i n_i,  n_i integer                        (whole packs)
               q_i = 0  or  MOQ_i <= q_i <= max_i                     (semi-continuous, binary z_i when K_i > 0)

with g_i(q) = (cu + co) E[min(D, IP + q)] - co (IP + q) - [the same at q = 0], the newsvendor profit of the
position after ordering (expected sales earn the margin and avoid the stockout penalty cu; the expected leftover
costs co; see :mod:`inventory.engine.policy`). g is concave in q; it is replaced by the piecewise-linear function
through a few breakpoints (at most ``max_breakpoints``, by default 6), all on whole packs: 0, the MOQ, the maximum,
and points equally spaced in probability between them (g's slope is linear in the demand CDF, so that spacing
spreads the slope changes evenly). When a product can order only a handful of pack counts, every one of them is a
breakpoint and the model is exact.

The formulation is chosen so that its LP relaxation is nearly integral, which keeps HiGHS's branch-and-cut short:
per product, a binary order flag z that buys the first segment whole (0 -> MOQ, so the MOQ holds by construction
and the fixed cost K rides on z), and one integer variable per further segment counting the packs bought in it,
bounded by its width times z (a variable upper bound: no increments without the flag). Concavity makes the segments
fill in order, so no ordering constraints are needed. Rows: one per segment plus the budget and capacity rows.

Solved by ``scipy.optimize.milp`` (HiGHS branch-and-cut) with a time limit and a relative MIP gap (defaults 10 s,
1e-4); the result says which applied. Malformed input raises :class:`InventoryInputError`; an infeasible problem
(mandatory minimum orders that do not fit) returns ``status="infeasible"`` with an explanation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from inventory.engine.demand import DemandDistribution
from inventory.engine.errors import InventoryInputError, collect_array_problems, describe_offenders

OptimizationStatus = Literal["optimal", "feasible", "infeasible", "failed"]
DEFAULT_MAX_BREAKPOINTS = 6


@dataclass(frozen=True)
class OrderCandidates:
    """Products that may be ordered this cycle, with the piecewise-linear expected profit of each quantity.

    ``breakpoint_quantity`` (products x B) is non-decreasing along each row, starts at 0 and holds whole packs;
    ``breakpoint_profit`` is the expected profit (before the fixed order cost) of ordering that many units,
    relative to ordering nothing, and must be concave along the row.
    """

    product_ids: np.ndarray
    unit_cost: np.ndarray
    unit_volume: np.ndarray
    pack_size: np.ndarray
    min_order_qty: np.ndarray
    order_cost: np.ndarray
    max_quantity: np.ndarray
    mandatory: np.ndarray  # bool: must be ordered (at least the MOQ)
    breakpoint_quantity: np.ndarray
    breakpoint_profit: np.ndarray


@dataclass(frozen=True)
class OrderOptimizationResult:
    """The chosen quantities and how they were found; ``message`` says it in words."""

    status: OptimizationStatus
    message: str
    product_ids: np.ndarray
    quantities: np.ndarray
    order_value: float
    order_volume: float
    expected_profit: float  # of the chosen orders, by the piecewise-linear model, fixed order costs deducted
    profit_upper_bound: float | None  # HiGHS's dual bound: no choice can do better than this
    mip_gap: float | None
    budget: float | None
    volume_capacity: float | None
    time_limit: float
    mip_rel_gap: float
    solve_seconds: float
    n_variables: int
    n_constraints: int

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible")


def expected_profit_breakpoints(
    demand: DemandDistribution,
    inventory_position: np.ndarray,
    max_quantity: np.ndarray,
    pack_size: np.ndarray,
    min_order_qty: np.ndarray,
    underage_cost: np.ndarray,
    overage_cost: np.ndarray,
    max_breakpoints: int = DEFAULT_MAX_BREAKPOINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoint quantities (whole packs) and the exact expected profit g(q) there, each (products x B)."""
    if max_breakpoints < 3:
        raise ValueError("max_breakpoints must be at least 3 (0, the MOQ and the maximum)")
    n_products = len(inventory_position)
    max_packs = np.floor(max_quantity / pack_size + 1e-9)
    moq_packs = np.maximum(np.ceil(min_order_qty / pack_size - 1e-9), 1.0)

    # Few enough packs: every orderable pack count (0, then MOQ .. maximum) is a breakpoint and the model is exact.
    every_count = np.hstack([np.zeros((n_products, 1)), np.minimum(
        moq_packs[:, None] + np.arange(max_breakpoints - 1)[None, :], max_packs[:, None])])
    # Otherwise: 0, the MOQ, the maximum, and points equally spaced in probability between them.
    low = demand.cdf(inventory_position + moq_packs * pack_size)
    high = demand.cdf(inventory_position + max_packs * pack_size)
    inner = np.arange(1, max_breakpoints - 2) / (max_breakpoints - 2)
    probabilities = np.clip(low[:, None] + (high - low)[:, None] * inner[None, :], 0.0, 1.0 - 1e-12)
    inner_levels = demand.quantile(probabilities) - inventory_position[:, None]
    inner_packs = np.clip(np.round(inner_levels / pack_size[:, None]), moq_packs[:, None], max_packs[:, None])
    spread = np.hstack([np.zeros((n_products, 1)), moq_packs[:, None], inner_packs, max_packs[:, None]])
    few_counts = (max_packs - moq_packs + 2 <= max_breakpoints)[:, None]
    packs = np.where(few_counts, every_count, np.sort(spread, axis=1))
    packs = np.where((max_packs >= moq_packs)[:, None], packs, 0.0)  # the maximum is below the MOQ: nothing to order

    quantity = packs * pack_size[:, None]
    level = inventory_position[:, None] + quantity
    value = ((underage_cost + overage_cost)[:, None] * demand.expected_sales(level)
             - overage_cost[:, None] * level)
    return quantity, value - value[:, :1]


def _validate(candidates: OrderCandidates, budget: float | None, volume_capacity: float | None) -> None:
    ids = candidates.product_ids
    problems = collect_array_problems(
        [("unit_cost", candidates.unit_cost, ">=0"), ("unit_volume", candidates.unit_volume, ">=0"),
         ("pack_size", candidates.pack_size, ">0"), ("min_order_qty", candidates.min_order_qty, ">=0"),
         ("order_cost", candidates.order_cost, ">=0"), ("max_quantity", candidates.max_quantity, ">=0"),
         ("breakpoint_quantity", candidates.breakpoint_quantity, ">=0"),
         ("breakpoint_profit", candidates.breakpoint_profit, "finite")],
        ids,
    )
    for name, value in (("budget", budget), ("volume capacity", volume_capacity)):
        if value is None:
            continue
        if not np.isfinite(value):
            problems.append(f"the {name} must be a finite number (got {value})")
        elif value < 0:
            problems.append(f"the {name} is negative ({value:g}); nothing can be ordered against a negative "
                            f"{name} (is the warehouse already over capacity, or the budget overspent?)")
    if not problems:
        in_packs = candidates.breakpoint_quantity / candidates.pack_size[:, None]
        moq_packs = np.maximum(np.ceil(candidates.min_order_qty / candidates.pack_size - 1e-9), 1.0)
        bad_rows = ((in_packs.shape[1] < 2) | (np.diff(in_packs, axis=1) < -1e-9).any(axis=1)
                    | (np.abs(in_packs[:, 0]) > 1e-9) | (np.abs(in_packs - np.round(in_packs)) > 1e-6).any(axis=1)
                    | ((in_packs[:, -1] > 0) & (in_packs[:, min(1, in_packs.shape[1] - 1)] < moq_packs - 1e-9)))
        if bad_rows.any():
            problems.append(f"breakpoint quantities must be whole packs that start at 0, then the minimum order, and "
                            f"never decrease; not so for {describe_offenders(bad_rows, ids)}")
    if problems:
        raise InventoryInputError(problems)


def _explain_mandatory_shortfall(candidates: OrderCandidates, min_quantity: np.ndarray, budget: float | None,
                                 volume_capacity: float | None) -> str | None:
    """Say why mandatory minimum orders alone break the budget or the capacity, naming the biggest ones."""
    mandatory = candidates.mandatory
    for label, per_unit, limit, unit in (("budget", candidates.unit_cost, budget, ""),
                                         ("free volume", candidates.unit_volume, volume_capacity, " volume")):
        if limit is None:
            continue
        need = per_unit * min_quantity * mandatory
        if need.sum() > limit * (1 + 1e-12):
            biggest = np.argsort(-need)[: min(3, int(mandatory.sum()))]
            detail = ", ".join(
                f"{candidates.product_ids[i]} (minimum order {min_quantity[i]:g} units x {per_unit[i]:g} = "
                f"{need[i]:g}{unit})" for i in biggest)
            return (f"Infeasible: the mandatory products' minimum orders alone need {need.sum():g}{unit} but the "
                    f"{label} is {limit:g}. Largest: {detail}. Raise the {label}, lower those minimum order "
                    f"quantities, or make some of them optional.")
    return None


def optimize_orders(
    candidates: OrderCandidates,
    *,
    budget: float | None = None,
    volume_capacity: float | None = None,
    time_limit: float = 10.0,
    mip_rel_gap: float = 1e-4,
) -> OrderOptimizationResult:
    """Choose order quantities that maximize expected profit within the budget and the free volume."""
    _validate(candidates, budget, volume_capacity)
    pack = candidates.pack_size.astype(float)
    breakpoint_packs = np.round(candidates.breakpoint_quantity / pack[:, None])
    max_packs = breakpoint_packs[:, -1]
    moq_packs = np.maximum(np.ceil(candidates.min_order_qty / pack - 1e-9), 1.0)
    mandatory = candidates.mandatory.astype(bool)
    orderable = max_packs >= 1

    def result(status: OptimizationStatus, message: str, quantities: np.ndarray, *, profit: float = 0.0,
               bound: float | None = None, gap: float | None = None, seconds: float = 0.0, n_vars: int = 0,
               n_rows: int = 0) -> OrderOptimizationResult:
        return OrderOptimizationResult(
            status=status, message=message, product_ids=candidates.product_ids, quantities=quantities,
            order_value=float(quantities @ candidates.unit_cost), order_volume=float(quantities @ candidates.unit_volume),
            expected_profit=profit, profit_upper_bound=bound, mip_gap=gap, budget=budget,
            volume_capacity=volume_capacity, time_limit=time_limit, mip_rel_gap=mip_rel_gap, solve_seconds=seconds,
            n_variables=n_vars, n_constraints=n_rows)

    nothing = np.zeros(len(pack))
    stuck = mandatory & ~orderable
    if stuck.any():
        return result("infeasible", f"Infeasible: {describe_offenders(stuck, candidates.product_ids)} must be ordered "
                      "but may not be ordered at all (their maximum quantity is below one pack or the minimum order "
                      "quantity).", nothing)
    explanation = _explain_mandatory_shortfall(candidates, moq_packs * pack, budget, volume_capacity)
    if explanation:
        return result("infeasible", explanation, nothing)
    active = np.flatnonzero(orderable)
    if len(active) == 0:
        return result("optimal", "Nothing to order: no product has a positive suggested quantity.", nothing)

    started = time.perf_counter()
    model = _build_model(candidates, active, breakpoint_packs, mandatory, budget, volume_capacity)
    solution = milp(model.objective, integrality=model.integrality, bounds=model.bounds,
                    constraints=model.constraints,
                    options={"time_limit": float(time_limit), "mip_rel_gap": float(mip_rel_gap), "presolve": True})
    seconds = time.perf_counter() - started
    shape = {"seconds": seconds, "n_vars": len(model.objective), "n_rows": model.n_rows}

    if solution.x is None:
        if solution.status == 2:
            return result("infeasible", "Infeasible: no combination of whole packs and minimum order quantities of "
                          "the mandatory products fits the budget and the free volume.", nothing, **shape)
        return result("failed", f"The solver stopped without a usable answer: {solution.message}", nothing, **shape)

    packs_chosen = np.zeros(len(pack))
    packs_chosen[active] = model.packs_from_solution(solution.x)
    quantities = packs_chosen * pack
    profit = -float(solution.fun)
    bound = -float(solution.mip_dual_bound) if solution.mip_dual_bound is not None else None
    gap = None if solution.mip_gap is None else float(solution.mip_gap)
    spent = float(quantities @ candidates.unit_cost)
    used = float(quantities @ candidates.unit_volume)
    limits = []
    if budget is not None:
        limits.append(f"spends {spent:,.2f} of the {budget:,.2f} budget")
    if volume_capacity is not None:
        limits.append(f"uses {used:,.2f} of {volume_capacity:,.2f} free volume")
    summary = (f"orders {int((quantities > 0).sum())} of {len(active)} candidate products, " + ", ".join(limits)
               + f", expected profit {profit:,.2f}")
    if solution.status == 0:
        gap_note = "" if gap is None or gap <= 1e-9 else f" within the {mip_rel_gap:.2%} MIP gap (gap {gap:.4%})"
        return result("optimal", f"Optimal{gap_note}: {summary}.", quantities, profit=profit, bound=bound, gap=gap,
                      **shape)
    gap_text = f"{gap:.3%}" if gap is not None else "unknown"
    return result("feasible", f"Stopped at the {time_limit:g} s time limit with a feasible plan (MIP gap "
                  f"{gap_text}): {summary}.", quantities, profit=profit, bound=bound, gap=gap, **shape)


@dataclass(frozen=True)
class _Model:
    objective: np.ndarray
    integrality: np.ndarray
    bounds: Bounds
    constraints: list[LinearConstraint]
    n_rows: int
    first_segment_packs: np.ndarray  # per active product: packs bought with the order flag (the MOQ)
    segment_owner: np.ndarray  # per increment variable: which active product it belongs to

    def packs_from_solution(self, x: np.ndarray) -> np.ndarray:
        n_active = len(self.first_segment_packs)
        flags = np.round(x[:n_active])
        increments = np.round(x[n_active:])
        return flags * self.first_segment_packs + np.bincount(self.segment_owner, weights=increments,
                                                               minlength=n_active)


def _build_model(candidates: OrderCandidates, active: np.ndarray, breakpoint_packs: np.ndarray,
                 mandatory: np.ndarray, budget: float | None, volume_capacity: float | None) -> _Model:
    """Assemble the sparse MILP for the active products: [order flags z | packs per further segment y]."""
    n_active = len(active)
    pack = candidates.pack_size[active].astype(float)
    packs = breakpoint_packs[active]
    profit = candidates.breakpoint_profit[active]
    first_packs = packs[:, 1]
    first_profit = profit[:, 1] - candidates.order_cost[active]

    # Further segments, kept only where they add packs.
    width = np.diff(packs[:, 1:], axis=1)
    per_pack = np.divide(np.diff(profit[:, 1:], axis=1), width, out=np.zeros_like(width), where=width > 0)
    seg_owner, seg_index = np.nonzero(width > 0)
    seg_width = width[seg_owner, seg_index]
    n_segments = len(seg_owner)
    n_vars = n_active + n_segments

    objective = -np.concatenate([first_profit, per_pack[seg_owner, seg_index]])
    integrality = np.ones(n_vars, dtype=int)
    lower = np.concatenate([mandatory[active].astype(float), np.zeros(n_segments)])
    upper = np.concatenate([np.ones(n_active), seg_width])

    # No increments without the order flag: sum_k y_k - (sum_k width_k) z <= 0, one row per product. Only needed
    # where the flag costs something (a fixed order cost, or an MOQ above one pack): elsewhere buying the first pack
    # is always at least as good as buying a later one (same price, higher marginal profit), so the optimum never
    # takes increments without the flag.
    flag_matters = (candidates.order_cost[active] > 0) | (first_packs > 1)
    linked = flag_matters[seg_owner]
    linked_segments = np.flatnonzero(linked)
    linked_products = np.flatnonzero(flag_matters & (np.bincount(seg_owner, minlength=n_active) > 0))
    row_of_product = np.full(n_active, -1)
    row_of_product[linked_products] = np.arange(len(linked_products))
    n_rows = len(linked_products)
    total_width = np.bincount(seg_owner, weights=seg_width, minlength=n_active)
    row_ids = [row_of_product[seg_owner[linked_segments]], np.arange(n_rows)]
    col_ids = [n_active + linked_segments, linked_products]
    values = [np.ones(len(linked_segments)), -total_width[linked_products]]
    row_low = [np.full(n_rows, -np.inf)]
    row_high = [np.zeros(n_rows)]
    for per_unit, limit in ((candidates.unit_cost, budget), (candidates.unit_volume, volume_capacity)):
        if limit is None:
            continue
        per_pack_amount = per_unit[active].astype(float) * pack
        row_ids += [np.full(n_vars, n_rows)]
        col_ids += [np.arange(n_vars)]
        values += [np.concatenate([per_pack_amount * first_packs, per_pack_amount[seg_owner]])]
        row_low.append(np.array([-np.inf]))
        row_high.append(np.array([float(limit)]))
        n_rows += 1

    matrix = sparse.csc_array(
        (np.concatenate(values), (np.concatenate(row_ids), np.concatenate(col_ids))), shape=(n_rows, n_vars))
    return _Model(objective=objective, integrality=integrality, bounds=Bounds(lower, upper),
                  constraints=[LinearConstraint(matrix, np.concatenate(row_low), np.concatenate(row_high))],
                  n_rows=n_rows, first_segment_packs=first_packs, segment_owner=seg_owner)
