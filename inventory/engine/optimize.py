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
through a few breakpoints (at most ``max_breakpoints``, by default 6): 0, the MOQ, the maximum, and points equally
spaced in probability between them (g's slope is linear in the demand CDF, so that spacing spreads the slope
changes evenly). Breakpoints sit on whole packs, so the LP relaxation is nearly integral and the model stays compact:
per product one integer (packs), one binary only when there is a fixed order cost, and one continuous variable per
segment. When a product can order only a handful of packs every pack count is a breakpoint, so the model is exact.

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
    moq_packs = np.minimum(np.maximum(np.ceil(min_order_qty / pack_size - 1e-9), 1.0), max_packs)

    # Few enough packs: every pack count is a breakpoint and the model is exact.
    every_count = np.minimum(np.arange(max_breakpoints)[None, :], max_packs[:, None])
    # Otherwise: 0, the MOQ, the maximum, and points equally spaced in probability between them.
    low = demand.cdf(inventory_position + moq_packs * pack_size)
    high = demand.cdf(inventory_position + max_packs * pack_size)
    inner = np.arange(1, max_breakpoints - 2) / (max_breakpoints - 2)
    probabilities = np.clip(low[:, None] + (high - low)[:, None] * inner[None, :], 0.0, 1.0 - 1e-12)
    inner_levels = demand.quantile(probabilities) - inventory_position[:, None]
    inner_packs = np.clip(np.round(inner_levels / pack_size[:, None]), moq_packs[:, None], max_packs[:, None])
    spread = np.hstack([np.zeros((n_products, 1)), moq_packs[:, None], inner_packs, max_packs[:, None]])
    packs = np.where((max_packs < max_breakpoints)[:, None], every_count, np.sort(spread, axis=1))

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
        steps = np.diff(candidates.breakpoint_quantity, axis=1)
        bad_rows = (steps < -1e-9).any(axis=1) | (np.abs(candidates.breakpoint_quantity[:, 0]) > 1e-9)
        if bad_rows.any():
            problems.append(f"breakpoint quantities must start at 0 and never decrease, not so for "
                            f"{describe_offenders(bad_rows, ids)}")
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
    max_packs = np.floor(candidates.max_quantity / pack + 1e-9)
    moq_packs = np.maximum(np.ceil(candidates.min_order_qty / pack - 1e-9), 1.0)
    mandatory = candidates.mandatory.astype(bool)
    # A mandatory product may always order its minimum, even if its suggestion was smaller.
    max_packs = np.where(mandatory, np.maximum(max_packs, moq_packs), max_packs)
    min_quantity = moq_packs * pack

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
    explanation = _explain_mandatory_shortfall(candidates, min_quantity, budget, volume_capacity)
    if explanation:
        return result("infeasible", explanation, nothing)

    started = time.perf_counter()
    active = np.flatnonzero((max_packs >= 1) & ((max_packs >= moq_packs) | mandatory))
    if len(active) == 0:
        return result("optimal", "Nothing to order: no product has a positive suggested quantity.", nothing)
    model = _build_model(candidates, active, max_packs, moq_packs, mandatory, budget, volume_capacity)
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
    packs_chosen[active] = np.round(solution.x[: len(active)])
    quantities = packs_chosen * pack
    profit = -float(solution.fun) + model.objective_offset
    bound = -float(solution.mip_dual_bound) + model.objective_offset if solution.mip_dual_bound is not None else None
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
        gap_note = "" if gap is None or gap <= 1e-9 else f" (within the {mip_rel_gap:.2%} MIP gap; gap {gap:.3%})"
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
    objective_offset: float


def _build_model(candidates: OrderCandidates, active: np.ndarray, max_packs: np.ndarray, moq_packs: np.ndarray,
                 mandatory: np.ndarray, budget: float | None, volume_capacity: float | None) -> _Model:
    """Assemble the sparse MILP for the active products: [packs n | order flags z | segment amounts x]."""
    n_active = len(active)
    pack = candidates.pack_size[active].astype(float)
    max_n = max_packs[active]
    min_n = moq_packs[active]
    must = mandatory[active]
    fixed_cost = candidates.order_cost[active].astype(float)

    # Segments of the piecewise-linear profit, kept only where they have width and lie within the maximum.
    quantity = np.minimum(candidates.breakpoint_quantity[active], (max_n * pack)[:, None])
    profit = candidates.breakpoint_profit[active]
    width = np.diff(quantity, axis=1)
    slope = np.divide(np.diff(profit, axis=1), width, out=np.zeros_like(width), where=width > 1e-12)
    seg_owner, seg_index = np.nonzero(width > 1e-12)
    seg_width = width[seg_owner, seg_index]
    seg_slope = slope[seg_owner, seg_index]
    n_segments = len(seg_owner)

    # A binary order flag only where a fixed cost makes it necessary; otherwise the MOQ is a semi-integer bound.
    needs_flag = fixed_cost > 0
    flag_owner = np.flatnonzero(needs_flag)
    n_flags = len(flag_owner)
    flag_column = n_active + np.arange(n_flags)
    segment_column = n_active + n_flags + np.arange(n_segments)
    n_vars = n_active + n_flags + n_segments

    objective = np.concatenate([np.zeros(n_active), fixed_cost[flag_owner], -seg_slope])
    integrality = np.concatenate([
        np.where(~needs_flag & (min_n > 1) & ~must, 3, 1),  # 3: semi-integer, 0 or within [min, max]
        np.ones(n_flags), np.zeros(n_segments)]).astype(int)
    lower_n = np.where(must | (~needs_flag & (min_n > 1)), min_n, 0.0)
    lower = np.concatenate([lower_n, must[flag_owner].astype(float), np.zeros(n_segments)])
    upper = np.concatenate([max_n, np.ones(n_flags), seg_width])

    row_ids: list[np.ndarray] = []
    col_ids: list[np.ndarray] = []
    values: list[np.ndarray] = []
    row_low: list[np.ndarray] = []
    row_high: list[np.ndarray] = []
    row_count = 0

    def add_rows(local_rows: np.ndarray, cols: np.ndarray, coefficients: np.ndarray, n_new: int, low: np.ndarray,
                 high: np.ndarray) -> None:
        nonlocal row_count
        row_ids.append(local_rows + row_count)
        col_ids.append(cols)
        values.append(coefficients)
        row_low.append(low)
        row_high.append(high)
        row_count += n_new

    # Units ordered = sum of the segment amounts: pack n - sum x = 0.
    add_rows(np.concatenate([np.arange(n_active), seg_owner]), np.concatenate([np.arange(n_active), segment_column]),
             np.concatenate([pack, -np.ones(n_segments)]), n_active, np.zeros(n_active), np.zeros(n_active))
    if n_flags:
        # No packs unless the order flag is on (n <= max z); with the flag on, at least the MOQ (n >= min z).
        owner_range = np.arange(n_flags)
        add_rows(np.concatenate([owner_range, owner_range]), np.concatenate([flag_owner, flag_column]),
                 np.concatenate([np.ones(n_flags), -max_n[flag_owner]]), n_flags, np.full(n_flags, -np.inf),
                 np.zeros(n_flags))
        add_rows(np.concatenate([owner_range, owner_range]), np.concatenate([flag_owner, flag_column]),
                 np.concatenate([np.ones(n_flags), -min_n[flag_owner]]), n_flags, np.zeros(n_flags),
                 np.full(n_flags, np.inf))
    for per_unit, limit in ((candidates.unit_cost, budget), (candidates.unit_volume, volume_capacity)):
        if limit is None:
            continue
        add_rows(np.zeros(n_active, dtype=int), np.arange(n_active), per_unit[active].astype(float) * pack, 1,
                 np.array([-np.inf]), np.array([float(limit)]))

    matrix = sparse.csc_array(
        (np.concatenate(values), (np.concatenate(row_ids), np.concatenate(col_ids))), shape=(row_count, n_vars))
    constraint = LinearConstraint(matrix, np.concatenate(row_low), np.concatenate(row_high))
    return _Model(objective=objective, integrality=integrality, bounds=Bounds(lower, upper),
                  constraints=[constraint], n_rows=row_count, objective_offset=0.0)

