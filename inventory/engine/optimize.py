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

The formulation is chosen so that its LP relaxation is nearly integral: per product, a binary order flag z that
buys the first segment whole (0 -> MOQ, so the MOQ holds by construction and the fixed cost K rides on z), and one
integer variable per further segment counting the packs bought in it, bounded by its width times z (a variable upper
bound: no increments without the flag; left out where the flag costs nothing, i.e. no fixed cost and a one-pack
first segment). Concavity makes the segments fill in order, so no ordering constraints are needed.

Speed (the target is 10,000 products in under 2 s on two shared cores): sent whole, that MILP takes HiGHS about
2-3 s for 10,000 products, most of it the root LP, and its presolve alone can exceed 10 s (so presolve is off).
So before HiGHS, an exact Lagrangian reduced-cost fixing (:func:`_lagrangian_reduction`) prices the budget and the
volume by bisection, builds a feasible plan from the priced choices (greedily topped up), and settles every product
whose choice cannot differ in any plan better than that one -- usually all but a few hundred. HiGHS then solves the
MILP for the rest with what is left of the budget and the volume. Nothing better than the known plan is ever cut
off, so the answer is optimal for the whole problem up to the MIP gap; ``reduce=False`` skips the reduction (the
tests check both agree). HiGHS runs with a time limit and a relative MIP gap (defaults 10 s and 1e-4); the result
reports the gap to a proven upper bound, and says so when the time limit stopped the search.

The guard: HiGHS gets what is left of ``time_limit`` after the reduction and the model building (at least 0.05 s),
so the whole call can overrun the limit by that pre-processing (about 2 s of CPU for 10,000 products when both
limits bind and the reduction leaves most products open). When the Lagrangian bound already proves the known plan
within the MIP gap, HiGHS is not called. When HiGHS stops without proving optimality, the answer is the best of what it
found, the Lagrangian plan and :func:`_greedy_plan` (no solver at all). Whatever path wins, the plan passes a final
check of every constraint (:func:`_respects_every_constraint`) before it is returned, and ``solver_path`` plus the
message say which path it was and the gap to the proven upper bound.

With ``cycle_stock`` terms (what :func:`inventory.engine.plan.order_candidates_from_policy` passes), g also credits
stock above the reorder point with the fixed order costs a lot saves (:class:`CycleStockTerms`).

Malformed input raises :class:`InventoryInputError`; an infeasible problem (mandatory minimum orders that do not
fit) returns ``status="infeasible"`` with an explanation.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from inventory.engine.demand_distribution import DemandDistribution
from inventory.engine.errors import InventoryInputError, collect_array_problems, describe_offenders

OptimizationStatus = Literal["optimal", "feasible", "infeasible", "failed"]
SolverPath = Literal["reduction", "highs", "highs_time_limit", "lagrangian", "greedy", "none"]
SOLVER_PATHS: dict[str, str] = {
    "reduction": "Lagrangian reduced-cost fixing settled every product (exact)",
    "highs": "HiGHS MILP, solved to the MIP gap",
    "highs_time_limit": "HiGHS MILP, best plan found before its time limit",
    "lagrangian": "the Lagrangian plan (priced choices topped up greedily)",
    "greedy": "the greedy fallback (best profit per unit of budget and volume first)",
    "none": "nothing was solved",
}
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
    solve_seconds: float  # the whole call: reduction, model building and HiGHS
    n_variables: int
    n_constraints: int
    n_candidates: int = 0
    n_core_products: int = 0  # products the MILP decided
    n_fixed_by_reduction: int = 0
    solver_path: SolverPath = "none"  # which path produced the quantities (see SOLVER_PATHS)

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
    cycle_stock: CycleStockTerms | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoint quantities (whole packs) and the exact expected profit g(q) there, each (products x B).

    With ``cycle_stock``, levels above the reorder point are valued as cycle stock (see :class:`CycleStockTerms`).
    """
    if max_breakpoints < 3:
        raise ValueError("max_breakpoints must be at least 3 (0, the MOQ and the maximum)")
    n_products = len(inventory_position)
    max_packs = np.floor(max_quantity / pack_size + 1e-9)
    moq_packs = np.maximum(np.ceil(min_order_qty / pack_size - 1e-9), 1.0)

    # Few enough packs: every orderable pack count (0, then MOQ .. maximum) is a breakpoint and the model is exact.
    every_count = np.hstack(
        [
            np.zeros((n_products, 1)),
            np.minimum(moq_packs[:, None] + np.arange(max_breakpoints - 1)[None, :], max_packs[:, None]),
        ]
    )
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
    value = (underage_cost + overage_cost)[:, None] * demand.expected_sales(level) - overage_cost[:, None] * level
    if cycle_stock is not None:
        value = value + cycle_stock.value(level, overage_cost)
    return quantity, value - value[:, :1]


@dataclass(frozen=True)
class CycleStockTerms:
    """What makes the lot worth buying when orders have a fixed cost.

    The newsvendor profit g charges every unit left over after the protection interval co (a cycle's holding),
    which ignores why the policy orders a lot (S = s + lot - D R / 2) at all: a bigger order spreads the fixed
    cost K and postpones the next one. Without this term the optimizer never buys the lot, so a budget slightly
    below the suggested orders ended up about half spent. Raising the position to y is ordering a lot of about
    Q(y) = max(y - s + D R / 2, D R) (a review finds the position on average D R / 2 below s; one review's demand
    is the smallest lot). Each unit is credited with the EOQ trade-off over the lot's life Q / D -- the fixed
    cost it spreads, K / Q, less its cycle holding, h Q / (2 D) (zero at the EOQ) -- in place of the leftover
    charge co: marginal value co + K / Q - h Q / (2 D). It falls as y grows, so the profit stays concave (the
    MILP needs that). Products without a fixed order cost get nothing (their lot is one pack).
    """

    reorder_point: np.ndarray
    mean_demand_per_period: np.ndarray
    review_period: float
    holding_cost_per_period: np.ndarray
    order_cost: np.ndarray

    def value(self, level: np.ndarray, overage_cost: np.ndarray) -> np.ndarray:
        """Integral from 0 to ``level`` (products x B) of co + K / Q(u) - h Q(u) / (2 D)."""
        demand = self.mean_demand_per_period[:, None]
        active = (demand > 0) & (self.order_cost[:, None] > 0)
        safe_demand = np.where(demand > 0, demand, 1.0)
        minimum_lot = safe_demand * self.review_period
        order_cost, holding = self.order_cost[:, None], self.holding_cost_per_period[:, None]
        co = overage_cost[:, None]
        level = np.maximum(level, 0.0)
        knee = self.reorder_point[:, None] + minimum_lot / 2.0  # below it the lot is the smallest one, D R
        flat = np.minimum(level, knee)
        flat_value = (co + order_cost / minimum_lot - holding * minimum_lot / (2.0 * safe_demand)) * flat
        above = np.maximum(level - knee, 0.0)
        lot = minimum_lot + above
        curved_value = (
            co * above
            + order_cost * np.log(lot / minimum_lot)
            - holding * (lot**2 - minimum_lot**2) / (4.0 * safe_demand)
        )
        return np.where(active, flat_value + curved_value, 0.0)


def _validate(candidates: OrderCandidates, budget: float | None, volume_capacity: float | None) -> None:
    ids = candidates.product_ids
    problems = collect_array_problems(
        [
            ("unit_cost", candidates.unit_cost, ">=0"),
            ("unit_volume", candidates.unit_volume, ">=0"),
            ("pack_size", candidates.pack_size, ">0"),
            ("min_order_qty", candidates.min_order_qty, ">=0"),
            ("order_cost", candidates.order_cost, ">=0"),
            ("max_quantity", candidates.max_quantity, ">=0"),
            ("breakpoint_quantity", candidates.breakpoint_quantity, ">=0"),
            ("breakpoint_profit", candidates.breakpoint_profit, "finite"),
        ],
        ids,
    )
    for name, value in (("budget", budget), ("volume capacity", volume_capacity)):
        if value is None:
            continue
        if not np.isfinite(value):
            problems.append(f"the {name} must be a finite number (got {value})")
        elif value < 0:
            problems.append(
                f"the {name} is negative ({value:g}); nothing can be ordered against a negative "
                f"{name} (is the warehouse already over capacity, or the budget overspent?)"
            )
    if not problems:
        in_packs = candidates.breakpoint_quantity / candidates.pack_size[:, None]
        moq_packs = np.maximum(np.ceil(candidates.min_order_qty / candidates.pack_size - 1e-9), 1.0)
        bad_rows = (
            (in_packs.shape[1] < 2)
            | (np.diff(in_packs, axis=1) < -1e-9).any(axis=1)
            | (np.abs(in_packs[:, 0]) > 1e-9)
            | (np.abs(in_packs - np.round(in_packs)) > 1e-6).any(axis=1)
            | ((in_packs[:, -1] > 0) & (in_packs[:, min(1, in_packs.shape[1] - 1)] < moq_packs - 1e-9))
        )
        if bad_rows.any():
            problems.append(
                f"breakpoint quantities must be whole packs that start at 0, then the minimum order, and "
                f"never decrease; not so for {describe_offenders(bad_rows, ids)}"
            )
    if problems:
        raise InventoryInputError(problems)


def _explain_mandatory_shortfall(
    candidates: OrderCandidates, min_quantity: np.ndarray, budget: float | None, volume_capacity: float | None
) -> str | None:
    """Say why mandatory minimum orders alone break the budget or the capacity, naming the biggest ones."""
    mandatory = candidates.mandatory
    for label, per_unit, limit, unit in (
        ("budget", candidates.unit_cost, budget, ""),
        ("free volume", candidates.unit_volume, volume_capacity, " volume"),
    ):
        if limit is None:
            continue
        need = per_unit * min_quantity * mandatory
        if need.sum() > limit * (1 + 1e-12):
            biggest = np.argsort(-need)[: min(3, int(mandatory.sum()))]
            detail = ", ".join(
                f"{candidates.product_ids[i]} (minimum order {min_quantity[i]:g} units x {per_unit[i]:g} = "
                f"{need[i]:g}{unit})"
                for i in biggest
            )
            return (
                f"Infeasible: the mandatory products' minimum orders alone need {need.sum():g}{unit} but the "
                f"{label} is {limit:g}. Largest: {detail}. Raise the {label}, lower those minimum order "
                f"quantities, or make some of them optional."
            )
    return None


def optimize_orders(
    candidates: OrderCandidates,
    *,
    budget: float | None = None,
    volume_capacity: float | None = None,
    time_limit: float = 10.0,
    mip_rel_gap: float = 1e-4,
    reduce: bool = True,
) -> OrderOptimizationResult:
    """Choose order quantities that maximize expected profit within the budget and the free volume.

    With ``reduce`` (the default) an exact Lagrangian reduced-cost fixing first settles every product whose choice
    cannot change in any plan better than a known feasible one, and HiGHS solves the MILP on the rest (see
    :func:`_lagrangian_reduction`); ``reduce=False`` sends the whole model to HiGHS.
    """
    _validate(candidates, budget, volume_capacity)
    started = time.perf_counter()
    pack = candidates.pack_size.astype(float)
    packs = np.round(candidates.breakpoint_quantity / pack[:, None])
    profit = candidates.breakpoint_profit - candidates.breakpoint_profit[:, :1]
    mandatory = candidates.mandatory.astype(bool)
    orderable = packs[:, -1] >= 1
    nothing = np.zeros(len(pack))

    def result(
        status: OptimizationStatus,
        message: str,
        quantities: np.ndarray,
        *,
        value: float = 0.0,
        bound: float | None = None,
        n_vars: int = 0,
        n_rows: int = 0,
        core: int = 0,
        fixed: int = 0,
        path: SolverPath = "none",
    ) -> OrderOptimizationResult:
        gap = None if bound is None else max(bound - value, 0.0) / max(abs(value), 1e-9)
        return OrderOptimizationResult(
            status=status,
            message=message,
            product_ids=candidates.product_ids,
            quantities=quantities,
            order_value=float(quantities @ candidates.unit_cost),
            order_volume=float(quantities @ candidates.unit_volume),
            expected_profit=value,
            profit_upper_bound=bound,
            mip_gap=gap,
            budget=budget,
            volume_capacity=volume_capacity,
            time_limit=time_limit,
            mip_rel_gap=mip_rel_gap,
            solve_seconds=time.perf_counter() - started,
            n_variables=n_vars,
            n_constraints=n_rows,
            n_candidates=int(orderable.sum()),
            n_core_products=core,
            n_fixed_by_reduction=fixed,
            solver_path=path,
        )

    stuck = mandatory & ~orderable
    if stuck.any():
        return result(
            "infeasible",
            f"Infeasible: {describe_offenders(stuck, candidates.product_ids)} must be ordered "
            "but may not be ordered at all (their maximum quantity is below one pack or the minimum order "
            "quantity).",
            nothing,
        )
    explanation = _explain_mandatory_shortfall(candidates, packs[:, 1] * pack, budget, volume_capacity)
    if explanation:
        return result("infeasible", explanation, nothing)
    if not orderable.any():
        return result("optimal", "Nothing to order: no product has a positive suggested quantity.", nothing)

    options = _Options(
        pack=pack,
        packs=packs,
        profit=profit,
        order_cost=candidates.order_cost.astype(float),
        unit_cost=candidates.unit_cost.astype(float),
        unit_volume=candidates.unit_volume.astype(float),
        mandatory=mandatory,
    )
    if reduce:
        reduction = _lagrangian_reduction(options, budget, volume_capacity)
    else:
        reduction = _Reduction.nothing_fixed(options, budget, volume_capacity)

    core = reduction.core
    value_upper_bound = reduction.upper_bound
    n_vars = n_rows = 0
    # Every plan found along the way, by path; the best one that passes the final constraint check is returned.
    found: dict[SolverPath, np.ndarray] = {}
    highs_note = ""
    incumbent_value = options.value_of(reduction.incumbent_packs) if reduction.incumbent_packs is not None else -np.inf
    lagrangian_proven = bool(
        np.isfinite(reduction.upper_bound)
        and reduction.upper_bound - incumbent_value <= mip_rel_gap * max(abs(incumbent_value), 1e-9)
    )
    if not len(core):
        found["reduction"] = reduction.fixed_packs.copy()
    elif lagrangian_proven and reduction.incumbent_packs is not None:  # proven only with a known plan
        # The Lagrangian bound already proves the known plan within the MIP gap: HiGHS could not improve it enough
        # to matter, and skipping it avoids its long root LPs when both limits bind (the reduction then leaves
        # most products open).
        found["lagrangian"] = reduction.incumbent_packs.copy()
        highs_note = (
            f"the Lagrangian bound proves the known plan within the MIP gap, so HiGHS was not needed for "
            f"the {len(core)} open products"
        )
    else:
        model = _build_model(reduction.core_options(), reduction.budget_left, reduction.volume_left)
        n_vars, n_rows = len(model.objective), model.n_rows
        remaining = max(time_limit - (time.perf_counter() - started), 0.05)
        solution = milp(
            model.objective,
            integrality=model.integrality,
            bounds=model.bounds,
            constraints=model.constraints,
            options={"time_limit": remaining, "mip_rel_gap": float(mip_rel_gap), "presolve": False},
        )
        if solution.x is not None:
            highs_packs = reduction.fixed_packs.copy()
            highs_packs[core] = model.packs_from_solution(solution.x)
            found["highs" if solution.status == 0 else "highs_time_limit"] = highs_packs
        dual_bound = getattr(solution, "mip_dual_bound", None)  # valid even when the time limit stopped HiGHS
        if dual_bound is not None and np.isfinite(dual_bound):
            value_upper_bound = min(value_upper_bound, reduction.fixed_value - float(dual_bound))
        if solution.status == 2 and reduction.incumbent_packs is None:
            return result(
                "infeasible",
                "Infeasible: no combination of whole packs and minimum order quantities of "
                "the mandatory products fits the budget and the free volume.",
                nothing,
                n_vars=n_vars,
                n_rows=n_rows,
                core=len(core),
                fixed=reduction.n_fixed,
                path="none",
            )
        highs_note = (
            f"HiGHS {'solved' if solution.status == 0 else 'stopped on'} the MILP for {len(core)} products "
            f"({n_vars} variables, {n_rows} rows)"
            + ("" if solution.status == 0 else f": {str(solution.message).rstrip('.')}")
        )
        if solution.status != 0:
            # The guard: HiGHS hit its time limit (or failed). Keep whatever it found, and also build plans that
            # never need it -- the Lagrangian plan and a greedy by profit per unit of the limits -- then keep the
            # best of them that respects every constraint.
            if reduction.incumbent_packs is not None:
                found["lagrangian"] = reduction.incumbent_packs.copy()
            found["greedy"] = _greedy_plan(options, budget, volume_capacity)
        elif reduction.incumbent_packs is not None:
            found["lagrangian"] = reduction.incumbent_packs.copy()  # never worse than the known plan

    valid = {
        path: chosen
        for path, chosen in found.items()
        if _respects_every_constraint(options, chosen, budget, volume_capacity)
    }
    if len(valid) < len(found) and "greedy" not in found:
        # A solver answer failed the final check (e.g. past the budget by more than rounding): fall back as well.
        greedy = _greedy_plan(options, budget, volume_capacity)
        if _respects_every_constraint(options, greedy, budget, volume_capacity):
            valid["greedy"] = greedy
    if not valid:
        return result(
            "failed",
            "No plan that respects every constraint was found ("
            + (highs_note or "no solver")
            + "); nothing is ordered.",
            nothing,
            n_vars=n_vars,
            n_rows=n_rows,
            core=len(core),
            fixed=reduction.n_fixed,
            path="none",
        )
    values = {name: options.value_of(chosen) for name, chosen in valid.items()}
    best_value = max(values.values())
    # Ties (within rounding) go to the first path in this order: the exact ones before the heuristics.
    path = next(
        name
        for name in ("reduction", "highs", "lagrangian", "highs_time_limit", "greedy")
        if name in values and values[name] >= best_value - 1e-9 * max(abs(best_value), 1.0)
    )
    chosen_packs = valid[path]
    # Proven: solved exactly, or the known plan is at least as good as HiGHS's optimum or within the Lagrangian gap.
    proven = path in ("reduction", "highs") or (path == "lagrangian" and ("highs" in valid or lagrangian_proven))

    quantities = chosen_packs * pack
    value = options.value_of(chosen_packs)
    value_upper_bound = max(value_upper_bound, value)
    gap = max(value_upper_bound - value, 0.0) / max(abs(value), 1e-9)
    spent = float(quantities @ candidates.unit_cost)
    used = float(quantities @ candidates.unit_volume)
    limits = []
    if budget is not None:
        limits.append(f"spends {spent:,.2f} of the {budget:,.2f} budget")
    if volume_capacity is not None:
        limits.append(f"uses {used:,.2f} of {volume_capacity:,.2f} free volume")
    summary = (
        f"orders {int((quantities > 0).sum())} of {int(orderable.sum())} candidate products, "
        + ", ".join(limits)
        + f", expected profit {value:,.2f}"
    )
    reduction_note = (
        f"; {reduction.n_fixed} products settled exactly by Lagrangian reduced-cost fixing" if reduce else ""
    )
    if not len(core):
        reduction_note += ", so HiGHS had nothing to solve"
    shape: dict[str, Any] = {
        "value": value,
        "bound": value_upper_bound,
        "n_vars": n_vars,
        "n_rows": n_rows,
        "core": len(core),
        "fixed": reduction.n_fixed,
        "path": path,
    }
    path_note = (
        f" Solver path: {SOLVER_PATHS[path]}; MIP gap {gap:.4%}"
        + (f" (upper bound {value_upper_bound:,.2f})" if np.isfinite(value_upper_bound) else "")
        + "."
    )
    notes = reduction_note + ("; " + highs_note if highs_note else "")
    if not proven:
        return result(
            "feasible",
            f"Feasible, not proven optimal (the {time_limit:g} s time limit stopped HiGHS): "
            f"{summary}{notes}.{path_note}",
            quantities,
            **shape,
        )
    gap_note = "" if gap <= 1e-9 else f" within the {mip_rel_gap:.2%} MIP gap (gap {gap:.4%})"
    return result("optimal", f"Optimal{gap_note}: {summary}{notes}.{path_note}", quantities, **shape)


def _respects_every_constraint(
    options: _Options, chosen_packs: np.ndarray, budget: float | None, volume: float | None
) -> bool:
    """The final check every returned plan passes: whole packs, 0 or at least the first order (MOQ) and at most the
    maximum, mandatory products ordered, and the budget and the free volume kept (up to rounding noise)."""
    if chosen_packs.shape != options.pack.shape or not np.isfinite(chosen_packs).all():
        return False
    whole = np.all(np.abs(chosen_packs - np.round(chosen_packs)) <= 1e-9)
    ordered = chosen_packs > 0
    within_bounds = np.all(
        ~ordered | ((chosen_packs >= options.packs[:, 1] - 1e-9) & (chosen_packs <= options.packs[:, -1] + 1e-9))
    )
    mandatory_ok = np.all(~options.mandatory | ordered)
    units = chosen_packs * options.pack
    fits_budget = budget is None or float(units @ options.unit_cost) <= budget + 1e-9 * max(abs(budget), 1.0)
    fits_volume = volume is None or float(units @ options.unit_volume) <= volume + 1e-9 * max(abs(volume), 1.0)
    return bool(whole and within_bounds and mandatory_ok and fits_budget and fits_volume and np.all(chosen_packs >= 0))


def _greedy_plan(options: _Options, budget: float | None, volume: float | None) -> np.ndarray:
    """A plan without any solver: mandatory first orders, then the best profit per unit of the limits first.

    A step either opens a product (its first order, or the breakpoint with the best profit after the fixed cost per
    unit of the limits) or extends an open one along its next segment (as many packs as fit). The use of the limits
    is measured relative to each limit, so a step that takes 1% of the budget and 3% of the volume costs 4%.
    Concave profits make the segments' value per pack fall, so the next step of a product is never better than its
    previous one and a heap gives the greedy order. Always feasible when the mandatory first orders fit.
    """
    n_products = len(options.pack)
    packs = np.where(options.mandatory, options.packs[:, 1], 0.0)
    units = packs * options.pack
    budget_left = np.inf if budget is None else budget - float(units @ options.unit_cost)
    volume_left = np.inf if volume is None else volume - float(units @ options.unit_volume)
    money_per_pack = options.unit_cost * options.pack
    volume_per_pack = options.unit_volume * options.pack
    budget_scale = budget if budget and budget > 0 else 1.0
    volume_scale = volume if volume and volume > 0 else 1.0
    use_per_pack = np.zeros(n_products)
    if budget is not None:
        use_per_pack += money_per_pack / budget_scale
    if volume is not None:
        use_per_pack += volume_per_pack / volume_scale
    points, profit = options.packs[:, 1:], options.profit[:, 1:]

    def value_at(i: int, count: float) -> float:
        return float(np.interp(count, points[i], profit[i])) - options.order_cost[i] if count > 0 else 0.0

    def next_step(i: int) -> tuple[float, float] | None:
        """(efficiency, target pack count) of product i's best next step, or None."""
        current = packs[i]
        if points[i, -1] < 1 or current >= points[i, -1]:
            return None
        if current <= 0:  # open: the breakpoint with the best value per use
            targets = np.unique(points[i][points[i] >= 1])
            gains = np.array([value_at(i, t) for t in targets])
        else:
            above = points[i][points[i] > current + 1e-9]
            targets = above[:1]
            gains = np.array([value_at(i, targets[0]) - value_at(i, current)])
        use = (targets - current) * use_per_pack[i]
        ratio = np.where(gains > 0, gains / np.where(use > 0, use, 1e-300), -np.inf)
        best = int(np.argmax(ratio))
        return (float(ratio[best]), float(targets[best])) if np.isfinite(ratio[best]) else None

    heap: list[tuple[float, int, float]] = []
    for i in range(n_products):
        step = next_step(i)
        if step is not None:
            heap.append((-step[0], i, step[1]))
    heapq.heapify(heap)
    while heap:
        _, i, target = heapq.heappop(heap)
        current = packs[i]
        room = target - current
        if money_per_pack[i] > 0:
            room = min(room, np.floor(budget_left / money_per_pack[i] + 1e-9))
        if volume_per_pack[i] > 0:
            room = min(room, np.floor(volume_left / volume_per_pack[i] + 1e-9))
        if current <= 0:
            # An opening step must reach the first order; if the chosen breakpoint does not fit, try the first.
            if current + room < points[i, 0]:
                continue
            if current + room < target:
                room = np.floor(room)  # a partial opening: the first order and whatever else fits
        if room < 1:
            continue
        packs[i] = current + room
        budget_left -= room * money_per_pack[i]
        volume_left -= room * volume_per_pack[i]
        if packs[i] >= target - 1e-9:  # a full step: the product may go on
            step = next_step(i)
            if step is not None:
                heapq.heappush(heap, (-step[0], i, step[1]))
    return packs


@dataclass(frozen=True)
class _Options:
    """Every product's choices: breakpoints in packs (column 0 is 0 packs, column 1 the first order) and profit."""

    pack: np.ndarray
    packs: np.ndarray
    profit: np.ndarray  # before the fixed order cost, 0 at column 0
    order_cost: np.ndarray
    unit_cost: np.ndarray
    unit_volume: np.ndarray
    mandatory: np.ndarray

    def value_of(self, chosen_packs: np.ndarray) -> float:
        """Objective of a choice of packs per product: the piecewise-linear profit minus fixed order costs."""
        return float(
            np.sum(
                _interpolate_rows(self.packs[:, 1:], self.profit[:, 1:], chosen_packs) * (chosen_packs > 0)
                - self.order_cost * (chosen_packs > 0)
            )
        )

    def subset(self, rows: np.ndarray) -> _Options:
        return _Options(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})


def _interpolate_rows(xp: np.ndarray, fp: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Row-wise linear interpolation of (xp, fp) at x (one x per row); xp non-decreasing, flat beyond its ends."""
    n_points = xp.shape[1]
    if n_points == 1:
        return fp[:, 0].copy()
    below = np.clip((xp <= x[:, None]).sum(axis=1) - 1, 0, n_points - 2)
    rows = np.arange(len(x))
    x0, x1 = xp[rows, below], xp[rows, below + 1]
    f0, f1 = fp[rows, below], fp[rows, below + 1]
    width = x1 - x0
    share = np.divide(np.clip(x - x0, 0.0, None), width, out=np.zeros_like(width), where=width > 0)
    return f0 + np.minimum(share, 1.0) * (f1 - f0)


@dataclass(frozen=True)
class _Reduction:
    """What the Lagrangian step settled, and the smaller problem it leaves for the MILP."""

    options: _Options
    core: np.ndarray  # products left to the MILP
    core_packs: np.ndarray  # their breakpoints, restricted to the choices that can still pay off
    fixed_packs: np.ndarray  # packs of the settled products (0 for the core)
    fixed_value: float
    budget_left: float | None
    volume_left: float | None
    upper_bound: float
    incumbent_packs: np.ndarray | None
    incumbent_core_value: float
    n_fixed: int

    @classmethod
    def nothing_fixed(cls, options: _Options, budget: float | None, volume: float | None) -> _Reduction:
        everyone = np.flatnonzero(options.packs[:, -1] >= 1)
        return cls(
            options=options,
            core=everyone,
            core_packs=options.packs[everyone],
            fixed_packs=np.zeros(len(options.pack)),
            fixed_value=0.0,
            budget_left=budget,
            volume_left=volume,
            upper_bound=np.inf,
            incumbent_packs=None,
            incumbent_core_value=-np.inf,
            n_fixed=0,
        )

    def core_options(self) -> _Options:
        core = self.options.subset(self.core)
        profit = _interpolate_rows_matrix(core.packs[:, 1:], core.profit[:, 1:], self.core_packs)
        return _Options(
            pack=core.pack,
            packs=self.core_packs,
            profit=np.where(self.core_packs > 0, profit, 0.0),
            order_cost=core.order_cost,
            unit_cost=core.unit_cost,
            unit_volume=core.unit_volume,
            mandatory=core.mandatory,
        )


def _interpolate_rows_matrix(xp: np.ndarray, fp: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.stack([_interpolate_rows(xp, fp, x[:, j]) for j in range(x.shape[1])], axis=1)


def _lagrangian_choice(
    options: _Options, price_budget: float, price_volume: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each product's best breakpoint when budget and volume cost the given prices per unit of money / volume.

    Returns (chosen column, that column's Lagrangian value, all columns' Lagrangian values).
    """
    unit_price = price_budget * options.unit_cost + price_volume * options.unit_volume
    value = options.profit - options.order_cost[:, None] - (unit_price * options.pack)[:, None] * options.packs
    value[:, 0] = np.where(options.mandatory, -np.inf, 0.0)
    value = np.where((options.packs[:, -1] >= 1)[:, None] | (np.arange(value.shape[1]) == 0), value, -np.inf)
    column = np.argmax(value, axis=1)
    return column, value[np.arange(len(column)), column], value


def _usage(options: _Options, column: np.ndarray) -> tuple[float, float]:
    units = options.packs[np.arange(len(column)), column] * options.pack
    return float(units @ options.unit_cost), float(units @ options.unit_volume)


def _smallest_feasible_price(
    options: _Options, limit: float, which: int, other_price: float, iterations: int = 40
) -> float:
    """Smallest price of one resource at which the Lagrangian choice respects its limit (bisection)."""

    def usage_at(price: float) -> float:
        prices = (price, other_price) if which == 0 else (other_price, price)
        return _usage(options, _lagrangian_choice(options, *prices)[0])[which]

    if usage_at(0.0) <= limit:
        return 0.0
    per_unit = options.unit_cost if which == 0 else options.unit_volume
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pack_value = np.where(
            options.packs[:, 1:] > 0,
            options.profit[:, 1:] / (options.packs[:, 1:] * (per_unit * options.pack)[:, None]),
            0.0,
        )
    high = float(np.nanmax(np.where(np.isfinite(per_pack_value), per_pack_value, 0.0))) * 2.0 + 1.0
    while usage_at(high) > limit and high < 1e12:  # only mandatory products left: they use what they must
        high *= 10.0
    low = 0.0
    for _ in range(iterations):
        middle = 0.5 * (low + high)
        if usage_at(middle) <= limit:
            high = middle
        else:
            low = middle
    return high


def _lagrangian_reduction(options: _Options, budget: float | None, volume: float | None) -> _Reduction:
    """Exact reduction by Lagrangian reduced-cost fixing.

    Pricing the budget and the volume at (lb, lv) >= 0 gives, for any feasible plan x, the bound
        profit(x) <= L = lb budget + lv volume + sum_i best_i,   best_i = max_q [g_i(q) - K_i - price_i q],
    and more precisely profit(x) <= L - sum_i (best_i - w_i(x_i)), w_i the priced profit of product i's choice. The
    prices are found by bisection (the smallest prices whose choices fit), and those choices are a feasible plan
    with profit P. Any plan better than P must therefore keep every product within tau = L - P of its own best
    priced profit. Because g_i is concave, that allowed set is 0 (if within tau) plus an interval of pack counts;
    products whose allowed set is a single choice are settled, the others go to the MILP with their narrowed
    intervals. Nothing better than P is ever cut off, so the MILP's answer on the rest is optimal for the whole.
    """
    n_products = len(options.pack)
    price_volume = 0.0
    price_budget = 0.0
    if budget is not None:
        price_budget = _smallest_feasible_price(options, budget, 0, 0.0)
    if volume is not None:
        price_volume = _smallest_feasible_price(options, volume, 1, price_budget)
        if budget is not None and price_volume > 0:
            # Both may bind: alternate a few times, always ending with prices at which the choices fit both.
            for _ in range(3):
                price_budget = _smallest_feasible_price(options, budget, 0, price_volume)
                price_volume = _smallest_feasible_price(options, volume, 1, price_budget)
    column, best, priced = _lagrangian_choice(options, price_budget, price_volume)
    spent, used = _usage(options, column)
    rows = np.arange(n_products)
    incumbent_packs = options.packs[rows, column]
    fits = (budget is None or spent <= budget * (1 + 1e-12)) and (volume is None or used <= volume * (1 + 1e-12))
    lagrangian_bound = price_budget * (budget or 0.0) + price_volume * (volume or 0.0) + float(best.sum())
    if not fits:  # only when mandatory minimums crowd the limits; let the MILP decide everything
        return _Reduction.nothing_fixed(options, budget, volume)
    incumbent_packs = _greedy_fill(options, incumbent_packs, budget, volume, price_budget, price_volume)
    incumbent_value = options.value_of(incumbent_packs)
    # Slack for rounding, so that no plan as good as the incumbent is cut off by float noise.
    tau = max(lagrangian_bound - incumbent_value, 0.0) + 1e-9 * max(abs(lagrangian_bound), 1.0) + 1e-7
    threshold = best - tau

    # Allowed pack counts q >= first order: the priced profit w is concave, so {w >= threshold} is an interval.
    order_points = options.packs[:, 1:]
    order_values = priced[:, 1:]
    above = order_values >= threshold[:, None]
    any_above = above.any(axis=1) & (options.packs[:, -1] >= 1)
    n_points = order_points.shape[1]
    first = np.argmax(above, axis=1)
    last = n_points - 1 - np.argmax(above[:, ::-1], axis=1)
    low = _crossing(order_points, order_values, threshold, first - 1, first, np.ceil)
    low = np.where(first == 0, order_points[:, 0], low)
    high = _crossing(order_points, order_values, threshold, last, last + 1, np.floor)
    high = np.where(last == n_points - 1, order_points[:, -1], high)
    zero_allowed = ~options.mandatory & (threshold <= 0.0)

    settled_zero = ~any_above & zero_allowed
    settled_single = any_above & ~zero_allowed & (low >= high)
    settled = settled_zero | settled_single | (options.packs[:, -1] < 1)
    fixed_packs = np.where(settled_single, low, 0.0)
    core = np.flatnonzero(~settled)

    fixed_value = options.value_of(fixed_packs)
    fixed_units = fixed_packs * options.pack
    budget_left = None if budget is None else budget - float(fixed_units @ options.unit_cost)
    volume_left = None if volume is None else volume - float(fixed_units @ options.unit_volume)
    # The core's narrowed breakpoints: 0, its lowest allowed count, the original ones inside, its highest.
    core_low, core_high = low[core], high[core]
    inside = np.clip(options.packs[core, 1:], core_low[:, None], core_high[:, None])
    core_packs = np.hstack([np.zeros((len(core), 1)), core_low[:, None], inside, core_high[:, None]])
    core_packs = np.where(any_above[core][:, None], core_packs, 0.0)
    # A core product that may not stay at zero starts at its lowest allowed count (mandatory-like).
    must_order = ~zero_allowed[core]
    reduction = _Reduction(
        options=options,
        core=core,
        core_packs=core_packs,
        fixed_packs=fixed_packs,
        fixed_value=fixed_value,
        budget_left=budget_left,
        volume_left=volume_left,
        upper_bound=lagrangian_bound,
        incumbent_packs=incumbent_packs,
        incumbent_core_value=options.subset(core).value_of(incumbent_packs[core]),
        n_fixed=int(n_products - len(core)),
    )
    return _with_forced_orders(reduction, must_order)


def _greedy_fill(
    options: _Options,
    packs: np.ndarray,
    budget: float | None,
    volume: float | None,
    price_budget: float,
    price_volume: float,
) -> np.ndarray:
    """Spend what the Lagrangian choice left over: extend products along their next segment, best value first.

    "Best" is profit per pack over the pack's priced use of the binding resources (money and/or volume).
    """
    packs = packs.copy()
    spent = float((packs * options.pack) @ options.unit_cost)
    used = float((packs * options.pack) @ options.unit_volume)
    budget_left = np.inf if budget is None else budget - spent
    volume_left = np.inf if volume is None else volume - used
    points, profit = options.packs[:, 1:], options.profit[:, 1:]
    # The next segment of each product: from its current count to the next breakpoint above it.
    upper = np.where(points > packs[:, None] + 1e-9, points, np.inf).min(axis=1)
    has_next = np.isfinite(upper) & (packs > 0)
    upper = np.where(has_next, upper, packs)
    gain = _interpolate_rows(points, profit, upper) - _interpolate_rows(points, profit, packs)
    per_pack = np.divide(gain, upper - packs, out=np.zeros_like(gain), where=upper > packs)
    money_per_pack = options.unit_cost * options.pack
    priced_use = price_budget * money_per_pack + price_volume * options.unit_volume * options.pack
    if price_budget == 0 and price_volume == 0:
        priced_use = money_per_pack
    efficiency = np.divide(per_pack, priced_use, out=per_pack * 1e12, where=priced_use > 0)
    for i in np.argsort(-efficiency):
        if per_pack[i] <= 0:
            break
        room = upper[i] - packs[i]
        if money_per_pack[i] > 0:
            room = min(room, np.floor(budget_left / money_per_pack[i] + 1e-9))
        volume_per_pack = options.unit_volume[i] * options.pack[i]
        if volume_per_pack > 0:
            room = min(room, np.floor(volume_left / volume_per_pack + 1e-9))
        if room >= 1:
            packs[i] += room
            budget_left -= room * money_per_pack[i]
            volume_left -= room * volume_per_pack
    return packs


def _with_forced_orders(reduction: _Reduction, must_order: np.ndarray) -> _Reduction:
    """Record which core products may not stay at zero by marking them mandatory in the core problem."""
    if not must_order.any():
        return reduction
    options = reduction.options
    mandatory = options.mandatory.copy()
    mandatory[reduction.core[must_order]] = True
    return _Reduction(**{**reduction.__dict__, "options": _Options(**{**options.__dict__, "mandatory": mandatory})})


def _crossing(
    points: np.ndarray,
    values: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    rounding: np.ufunc,
) -> np.ndarray:
    """Pack count where the line through columns ``left`` and ``right`` of each row reaches ``threshold``."""
    n_points = points.shape[1]
    rows = np.arange(len(threshold))
    left = np.clip(left, 0, n_points - 1)
    right = np.clip(right, 0, n_points - 1)
    x0, x1 = points[rows, left], points[rows, right]
    v0, v1 = values[rows, left], values[rows, right]
    with np.errstate(invalid="ignore"):  # rows that cannot order hold -inf; their result is not used
        rise = v1 - v0
    share = np.divide(threshold - v0, rise, out=np.zeros_like(rise), where=np.abs(rise) > 0)
    nudge = -1e-9 if rounding is np.ceil else 1e-9  # an exact crossing on a whole pack stays allowed
    return rounding(x0 + np.clip(share, 0.0, 1.0) * (x1 - x0) + nudge)


@dataclass(frozen=True)
class _Model:
    objective: np.ndarray
    integrality: np.ndarray
    bounds: Bounds
    constraints: list[LinearConstraint]
    n_rows: int
    options: _Options
    segment_owner: np.ndarray  # per increment variable: which product it belongs to

    def packs_from_solution(self, x: np.ndarray) -> np.ndarray:
        n_products = len(self.options.pack)
        flags = np.round(x[:n_products])
        increments = np.round(x[n_products:])
        return flags * self.options.packs[:, 1] + np.bincount(
            self.segment_owner, weights=increments, minlength=n_products
        )

    def value_of(self, packs: np.ndarray) -> float:
        return self.options.value_of(packs)


def _build_model(options: _Options, budget: float | None, volume_capacity: float | None) -> _Model:
    """Assemble the sparse MILP: [order flags z (one per product) | packs bought per further segment y]."""
    n_products = len(options.pack)
    packs, profit, pack = options.packs, options.profit, options.pack
    first_packs = packs[:, 1]
    first_profit = profit[:, 1] - options.order_cost

    # Further segments, kept only where they add packs.
    width = np.diff(packs[:, 1:], axis=1)
    per_pack = np.divide(np.diff(profit[:, 1:], axis=1), width, out=np.zeros_like(width), where=width > 0)
    seg_owner, seg_index = np.nonzero(width > 0)
    seg_width = width[seg_owner, seg_index]
    n_segments = len(seg_owner)
    n_vars = n_products + n_segments

    objective = -np.concatenate([first_profit, per_pack[seg_owner, seg_index]])
    integrality = np.ones(n_vars, dtype=int)
    orderable = first_packs >= 1
    lower = np.concatenate([(options.mandatory & orderable).astype(float), np.zeros(n_segments)])
    upper = np.concatenate([orderable.astype(float), seg_width])

    # Variable upper bounds y_k - width_k z <= 0: no increments without the order flag. Only needed where the flag
    # costs something (a fixed order cost, or a first order above one pack): elsewhere the first pack is always at
    # least as good a buy as a later one (same price, higher marginal profit), so an optimum never skips it.
    flag_matters = (options.order_cost > 0) | (first_packs > 1)
    linked_segments = np.flatnonzero(flag_matters[seg_owner])
    n_rows = len(linked_segments)
    row_range = np.arange(n_rows)
    row_ids = [row_range, row_range]
    col_ids = [n_products + linked_segments, seg_owner[linked_segments]]
    values = [np.ones(n_rows), -seg_width[linked_segments]]
    row_low = [np.full(n_rows, -np.inf)]
    row_high = [np.zeros(n_rows)]
    for per_unit, limit in ((options.unit_cost, budget), (options.unit_volume, volume_capacity)):
        if limit is None:
            continue
        per_pack_amount = per_unit * pack
        row_ids.append(np.full(n_vars, n_rows))
        col_ids.append(np.arange(n_vars))
        values.append(np.concatenate([per_pack_amount * first_packs, per_pack_amount[seg_owner]]))
        row_low.append(np.array([-np.inf]))
        row_high.append(np.array([float(limit)]))
        n_rows += 1

    matrix = sparse.csc_array(
        (np.concatenate(values), (np.concatenate(row_ids), np.concatenate(col_ids))), shape=(n_rows, n_vars)
    )
    return _Model(
        objective=objective,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        constraints=[LinearConstraint(matrix, np.concatenate(row_low), np.concatenate(row_high))],
        n_rows=n_rows,
        options=options,
        segment_owner=seg_owner,
    )
