"""Reorder policies per product: newsvendor order-up-to level, safety stock, reorder point, EOQ lot size, (s, S).

The policy is a periodic-review (R, s, S) policy with lost sales. At each review (every ``review_period`` periods)
the inventory position IP = on hand + on order is compared with the reorder point s; when IP < s, the order brings it
up to the order-up-to level S. An order placed now arrives after the lead time L, and the next order arrives R
periods after that, so this order protects against the demand of the next **L + R periods** (the protection
interval). With D_P that demand (see :mod:`inventory.engine.demand_distribution`):

* critical fractile  CF = cu / (cu + co), cu = (price - unit cost) + stockout cost (the margin and goodwill lost per
  unit short), co = unit cost x holding rate per period x T, T = max(R, lot size / mean demand per period) the
  expected periods between orders: a unit left over is carried until the next order's stock runs down. With one
  order per review this is the classic newsvendor co = h R; with lots of T periods of demand it is Hadley-Whitin's
  lost-sales condition P(shortage in a cycle) = h Q / (cu D + h Q): fewer cycles a year, fewer chances to run out,
  so each may take a little more risk. A per-product target cycle service level replaces CF when given;
* reorder point      s = F_P^-1(CF)  (the newsvendor level over the protection interval);
* safety stock       SS = s - E[D_P], so s = E[D_P] + SS;
* EOQ                sqrt(2 D K / h), D the mean demand per period, K the fixed order cost, h the holding cost per
  unit and period; the lot size is the EOQ rounded to whole packs, at least one pack and at least the MOQ;
* order-up-to level  S = s + max(0, lot size - E[demand per review period] / 2): when a review finds IP below s it
  is on average half a review period's demand below it, so the average order is about one lot; and a lot of T
  review periods' demand is reordered about every T reviews (with S - s a whole number of periods of demand, the
  position would hover at s and trigger at random). With no fixed cost the lot is one pack, S = s (for packs no
  bigger than half a period's demand), and the policy is the classic base-stock (order-up-to) policy;
* suggested quantity S - IP when IP < s, rounded up to whole packs and raised to the MOQ; zero otherwise;
* expected fill rate 1 - (E[(D_P - y)+] - E[(D_L - y)+]) / E[D_P - D_L], y the position after the order: the share
  of the demand of the periods this order serves that it is expected to meet (Hadley-Whitin).

These are the **closed-form** levels (``PlanSettings(rule="closed_form")``). The default rule, ``"dynamic"``,
replaces s and S by those of a dynamic program over the next ``dynamic_reviews`` reviews or more
(:mod:`inventory.engine.dynamic`), which follows the forecast beyond one protection interval; everything else above
(the demand distributions, fractile, EOQ, suggested quantity, fill rate) is computed the same way. A target service
level becomes, for the program, the shortage cost at which the newsvendor would choose it: co CF / (1 - CF).

Units: quantities in units, times in forecast periods (the caller converts lead times in days), money per unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from inventory.engine.demand_distribution import (
    DemandDistribution,
    DistributionFamily,
    interval_distribution,
    period_moments_from_quantiles,
)
from inventory.engine.dynamic import DEFAULT_REVIEWS, dynamic_order_levels
from inventory.engine.errors import InventoryInputError, collect_array_problems, describe_offenders
from inventory.engine.optimize import OrderOptimizationResult

ServiceLevelSource = Literal["newsvendor", "target"]
PolicyRule = Literal["dynamic", "closed_form"]
_PACK_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PlanSettings:
    """Settings shared by every product of one plan (per tenant)."""

    review_period: float = 1.0  # periods between two reviews (R)
    periods_per_year: float = 52.0  # converts the yearly holding cost rate into a per-period rate
    distribution: DistributionFamily = "gamma"
    max_fractile: float = 0.999  # cap, so that a zero holding cost does not ask for infinite stock
    # "dynamic": s and S from the program over the next reviews (inventory.engine.dynamic); "closed_form": from the
    # demand over one protection interval (this module's docstring).
    rule: PolicyRule = "dynamic"
    dynamic_reviews: int = DEFAULT_REVIEWS  # at least; slow movers with costly orders look further (dynamic.py)

    def forecast_periods_needed(self, lead_time_mean: np.ndarray, lead_time_std: np.ndarray) -> int:
        """How many forecast periods to give the policy: the protection interval for the closed form; the program's
        minimum reviews plus the longest likely lead time for the dynamic rule. Products whose program looks further
        ahead (up to 52 reviews) read the last period repeated beyond these, as they do beyond a store's forecast
        horizon."""
        longest_lead = float(np.max(np.asarray(lead_time_mean) + 3.0 * np.asarray(lead_time_std), initial=0.0))
        reviews = self.dynamic_reviews if self.rule == "dynamic" else 1
        return int(np.ceil(longest_lead + reviews * self.review_period)) + 2

    def validate(self) -> None:
        problems = []
        if self.rule not in get_args(PolicyRule):
            problems.append(f"rule must be one of {', '.join(map(repr, get_args(PolicyRule)))} (got {self.rule!r})")
        if not isinstance(self.dynamic_reviews, int) or not 1 <= self.dynamic_reviews <= 104:
            problems.append(
                f"dynamic_reviews must be a whole number of reviews from 1 to 104 (got {self.dynamic_reviews!r})"
            )
        if not np.isfinite(self.review_period) or self.review_period <= 0:
            problems.append(f"review_period must be a positive number of periods (got {self.review_period})")
        if not np.isfinite(self.periods_per_year) or self.periods_per_year <= 0:
            problems.append(f"periods_per_year must be positive (got {self.periods_per_year})")
        if self.distribution not in ("gamma", "normal"):
            problems.append(f"distribution must be 'gamma' or 'normal' (got {self.distribution!r})")
        if not 0.5 <= self.max_fractile < 1:
            problems.append(f"max_fractile must be in [0.5, 1) (got {self.max_fractile})")
        if problems:
            raise InventoryInputError(problems)


@dataclass(frozen=True)
class ProductInventoryInput:
    """One product as the Django layer hands it over: stock, supplier terms, costs and the latest forecast.

    ``p10``/``p50``/``p90`` are the forecast quantiles per period, starting with the current period.
    """

    product_id: str
    p10: Sequence[float]
    p50: Sequence[float]
    p90: Sequence[float]
    on_hand: float
    unit_cost: float
    on_order: float = 0.0  # ordered or in transit, not yet received
    unit_price: float = 0.0  # selling price; 0 when unknown (then only stockout_cost counts as the shortage cost)
    stockout_cost: float = 0.0  # penalty per unit of lost demand on top of the lost margin
    holding_cost_rate: float = 0.25  # fraction of the unit cost per year
    order_cost: float = 0.0  # fixed cost per order (K)
    lead_time_mean: float = 1.0  # periods
    lead_time_std: float = 0.0  # periods
    min_order_qty: float = 0.0
    pack_size: float = 1.0
    unit_volume: float = 0.0
    service_level: float | None = None  # target cycle service level; overrides the newsvendor fractile


@dataclass(frozen=True)
class ProductArrays:
    """The vectorized form of many :class:`ProductInventoryInput` (what the engine computes on)."""

    product_ids: np.ndarray
    p10: np.ndarray  # (products x horizon)
    p50: np.ndarray
    p90: np.ndarray
    on_hand: np.ndarray
    unit_cost: np.ndarray
    on_order: np.ndarray
    unit_price: np.ndarray
    stockout_cost: np.ndarray
    holding_cost_rate: np.ndarray
    order_cost: np.ndarray
    lead_time_mean: np.ndarray
    lead_time_std: np.ndarray
    min_order_qty: np.ndarray
    pack_size: np.ndarray
    unit_volume: np.ndarray
    service_level: np.ndarray  # NaN where the newsvendor fractile applies

    @classmethod
    def from_products(cls, products: Sequence[ProductInventoryInput]) -> ProductArrays:
        """Stack dataclasses; forecasts of different lengths are padded by repeating their last period."""
        if not products:
            raise InventoryInputError(["no products to plan"])
        horizon = max(len(p.p50) for p in products)
        empty = [p.product_id for p in products if min(len(p.p10), len(p.p50), len(p.p90)) == 0]
        if empty:
            raise InventoryInputError([f"no forecast periods for {', '.join(map(str, empty[:5]))}"])

        def padded(values: Sequence[float]) -> list[float]:
            values = [float(v) for v in values]
            return values + [values[-1]] * (horizon - len(values))

        def column(name: str) -> np.ndarray:
            return np.array([getattr(p, name) for p in products], dtype=float)

        return cls(
            product_ids=np.array([p.product_id for p in products], dtype=object),
            p10=np.array([padded(p.p10) for p in products]),
            p50=np.array([padded(p.p50) for p in products]),
            p90=np.array([padded(p.p90) for p in products]),
            service_level=np.array([np.nan if p.service_level is None else p.service_level for p in products]),
            **{
                name: column(name)
                for name in (
                    "on_hand",
                    "unit_cost",
                    "on_order",
                    "unit_price",
                    "stockout_cost",
                    "holding_cost_rate",
                    "order_cost",
                    "lead_time_mean",
                    "lead_time_std",
                    "min_order_qty",
                    "pack_size",
                    "unit_volume",
                )
            },
        )

    def validate(self) -> None:
        """Raise :class:`InventoryInputError` naming every malformed field and the products concerned."""
        ids = self.product_ids
        problems = collect_array_problems(
            [
                ("forecast P10", self.p10, ">=0"),
                ("forecast P50", self.p50, ">=0"),
                ("forecast P90", self.p90, ">=0"),
                ("on_hand", self.on_hand, ">=0"),
                ("on_order", self.on_order, ">=0"),
                ("unit_cost", self.unit_cost, ">0"),
                ("unit_price", self.unit_price, ">=0"),
                ("stockout_cost", self.stockout_cost, ">=0"),
                ("holding_cost_rate", self.holding_cost_rate, ">0"),
                ("order_cost", self.order_cost, ">=0"),
                ("lead_time_mean", self.lead_time_mean, ">=0"),
                ("lead_time_std", self.lead_time_std, ">=0"),
                ("min_order_qty", self.min_order_qty, ">=0"),
                ("pack_size", self.pack_size, ">0"),
                ("unit_volume", self.unit_volume, ">=0"),
            ],
            ids,
        )
        has_target = ~np.isnan(self.service_level)
        if has_target.any():
            problems += collect_array_problems(
                [("service_level", self.service_level[has_target], "[0,1]")], ids[has_target]
            )
        with np.errstate(invalid="ignore"):
            tolerance = 1e-9 * np.maximum(self.p90, 1.0)
            unordered = ((self.p10 > self.p50 + tolerance) | (self.p50 > self.p90 + tolerance)).any(axis=1)
        if unordered.any():
            problems.append(
                f"forecast quantiles must satisfy P10 <= P50 <= P90 in every period, not so for "
                f"{describe_offenders(unordered, ids)}"
            )
        if problems:
            raise InventoryInputError(problems)


@dataclass(frozen=True)
class PolicyArrays:
    """Every number of the policy, one entry per product (the vectorized plan lines)."""

    inventory_position: np.ndarray
    protection_periods: np.ndarray  # mean lead time + review period
    mean_demand_per_period: np.ndarray
    demand_lead_time: DemandDistribution
    demand_protection: DemandDistribution
    underage_cost: np.ndarray
    overage_cost: np.ndarray
    order_cycle_periods: np.ndarray  # expected periods between orders, max(R, lot size / demand per period)
    critical_fractile: np.ndarray  # the probability the reorder point covers (newsvendor or target)
    uses_target_service_level: np.ndarray
    safety_stock: np.ndarray
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    eoq: np.ndarray
    lot_size: np.ndarray
    suggested_quantity: np.ndarray
    expected_fill_rate: np.ndarray
    holding_cost_per_period: np.ndarray  # per unit
    rule: np.ndarray  # per product: "dynamic" or "closed_form"
    program_shortage_cost: np.ndarray  # the shortage cost per unit the program used (implied by a target); NaN if none
    cost_with_order: np.ndarray  # program: expected cost over its reviews of the best order now; NaN if none
    cost_without_order: np.ndarray  # program: the same when not ordering now; NaN if none
    dynamic_reviews: np.ndarray  # reviews the program looked ahead per product (0 for the closed form)


def critical_fractile(underage_cost: np.ndarray, overage_cost: np.ndarray) -> np.ndarray:
    """Newsvendor critical fractile cu / (cu + co); 0 when neither costs anything."""
    total = underage_cost + overage_cost
    return np.divide(underage_cost, total, out=np.zeros_like(total, dtype=float), where=total > 0)


def economic_order_quantity(
    demand_per_period: np.ndarray, order_cost: np.ndarray, holding_cost_per_period: np.ndarray
) -> np.ndarray:
    """EOQ = sqrt(2 D K / h), with D and h per period."""
    return np.sqrt(2.0 * demand_per_period * order_cost / holding_cost_per_period)


def round_up_to_packs(quantity: np.ndarray, pack_size: np.ndarray) -> np.ndarray:
    """Smallest whole number of packs holding at least ``quantity`` units."""
    return np.ceil(np.maximum(quantity, 0.0) / pack_size - _PACK_TOLERANCE) * pack_size


def orderable_quantity(raw_quantity: np.ndarray, pack_size: np.ndarray, min_order_qty: np.ndarray) -> np.ndarray:
    """Turn a wanted quantity into one a supplier accepts: whole packs, at least the MOQ, or nothing."""
    packs = round_up_to_packs(raw_quantity, pack_size)
    minimum = round_up_to_packs(min_order_qty, pack_size)
    return np.where(raw_quantity > _PACK_TOLERANCE, np.maximum(packs, minimum), 0.0)


def compute_policy_arrays(products: ProductArrays, settings: PlanSettings | None = None) -> PolicyArrays:
    """Compute the (s, S) policy and this review's suggested order for every product (vectorized)."""
    settings = settings or PlanSettings()
    settings.validate()
    products.validate()
    review = settings.review_period

    period_mean, period_var = period_moments_from_quantiles(
        products.p10, products.p50, products.p90, settings.distribution
    )
    demand_lead_time = interval_distribution(
        period_mean, period_var, 0.0, products.lead_time_mean, products.lead_time_std, settings.distribution
    )
    demand_protection = interval_distribution(
        period_mean, period_var, review, products.lead_time_mean, products.lead_time_std, settings.distribution
    )

    holding_per_period = products.unit_cost * products.holding_cost_rate / settings.periods_per_year
    mean_per_period = period_mean.mean(axis=1)
    eoq = economic_order_quantity(mean_per_period, products.order_cost, holding_per_period)
    eoq_in_packs = np.maximum(np.round(eoq / products.pack_size), 1.0) * products.pack_size
    lot_size = np.maximum(eoq_in_packs, round_up_to_packs(products.min_order_qty, products.pack_size))
    lot_periods = np.divide(lot_size, mean_per_period, out=np.zeros_like(lot_size), where=mean_per_period > 0)
    cycle_periods = np.maximum(review, lot_periods)

    underage = np.maximum(products.unit_price - products.unit_cost, 0.0) + products.stockout_cost
    overage = holding_per_period * cycle_periods
    uses_target = ~np.isnan(products.service_level)
    fractile = np.where(uses_target, products.service_level, critical_fractile(underage, overage))
    fractile = np.minimum(fractile, settings.max_fractile)

    reorder_point = demand_protection.quantile(fractile)
    mean_per_review = np.maximum(demand_protection.mean - demand_lead_time.mean, 0.0)
    has_demand = demand_protection.mean > 0
    order_up_to = reorder_point + np.where(has_demand, np.maximum(lot_size - 0.5 * mean_per_review, 0.0), 0.0)

    position = products.on_hand + products.on_order
    program = _ProgramResult.none(len(position))
    if settings.rule == "dynamic":
        program = _solve_program(
            products,
            settings,
            period_mean,
            period_var,
            position,
            holding_per_period,
            underage,
            overage,
            fractile,
            uses_target,
            has_demand,
            lot_size,
        )
        reorder_point = np.where(program.solved, program.reorder_point, reorder_point)
        order_up_to = np.where(program.solved, program.order_up_to, order_up_to)
    safety_stock = reorder_point - demand_protection.mean
    wanted = np.where(position < reorder_point, order_up_to - position, 0.0)
    suggested = orderable_quantity(wanted, products.pack_size, products.min_order_qty)
    fill_rate = expected_fill_rate(demand_lead_time, demand_protection, position + suggested)

    return PolicyArrays(
        inventory_position=position,
        protection_periods=products.lead_time_mean + review,
        mean_demand_per_period=mean_per_period,
        demand_lead_time=demand_lead_time,
        demand_protection=demand_protection,
        underage_cost=underage,
        overage_cost=overage,
        order_cycle_periods=cycle_periods,
        critical_fractile=fractile,
        uses_target_service_level=uses_target,
        safety_stock=safety_stock,
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        eoq=eoq,
        lot_size=lot_size,
        suggested_quantity=suggested,
        expected_fill_rate=fill_rate,
        holding_cost_per_period=holding_per_period,
        rule=np.where(program.solved, "dynamic", "closed_form"),
        program_shortage_cost=program.shortage_cost,
        cost_with_order=program.cost_with_order,
        cost_without_order=program.cost_without_order,
        dynamic_reviews=program.reviews,
    )


@dataclass(frozen=True)
class _ProgramResult:
    solved: np.ndarray
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    shortage_cost: np.ndarray
    cost_with_order: np.ndarray
    cost_without_order: np.ndarray
    reviews: np.ndarray  # 0 where the program was not solved

    @classmethod
    def none(cls, n_products: int) -> _ProgramResult:
        nothing = np.full(n_products, np.nan)
        return cls(
            np.zeros(n_products, dtype=bool),
            nothing,
            nothing,
            nothing,
            nothing,
            nothing,
            np.zeros(n_products, dtype=np.int64),
        )


def _solve_program(
    products: ProductArrays,
    settings: PlanSettings,
    period_mean: np.ndarray,
    period_var: np.ndarray,
    position: np.ndarray,
    holding_per_period: np.ndarray,
    underage: np.ndarray,
    overage: np.ndarray,
    fractile: np.ndarray,
    uses_target: np.ndarray,
    has_demand: np.ndarray,
    lot_size: np.ndarray,
) -> _ProgramResult:
    """(s, S) from the dynamic program for products with demand and a shortage cost; a target service level
    becomes the shortage cost at which the newsvendor would choose it, p = co * CF / (1 - CF). The same
    ``max_fractile`` cap as the closed form's bounds it (a zero holding cost must not ask for unbounded stock)."""
    implied = overage * fractile / np.maximum(1.0 - fractile, 1e-12)
    cap = overage * settings.max_fractile / (1.0 - settings.max_fractile)
    shortage = np.minimum(np.where(uses_target, implied, underage), cap)
    solved = has_demand & (shortage > 0)
    if not solved.any():
        return _ProgramResult.none(len(position))
    smallest_lot = np.maximum(round_up_to_packs(products.min_order_qty, products.pack_size), products.pack_size)
    levels = dynamic_order_levels(
        period_mean[solved],
        period_var[solved],
        position=position[solved],
        review_period=settings.review_period,
        lead_time_mean=products.lead_time_mean[solved],
        lead_time_std=products.lead_time_std[solved],
        holding_per_period=holding_per_period[solved],
        shortage_per_unit=shortage[solved],
        order_cost=products.order_cost[solved],
        min_lot=smallest_lot[solved],
        lot_size=lot_size[solved],
        pack_size=products.pack_size[solved],
        family=settings.distribution,
        reviews=settings.dynamic_reviews,
    )

    def every_product(values: np.ndarray, missing: float = np.nan) -> np.ndarray:
        """The solved products' values in a full-length array, ``missing`` for the others."""
        full = np.full(len(position), missing, dtype=np.result_type(values, missing))
        full[solved] = values
        return full

    return _ProgramResult(
        solved=solved,
        reorder_point=every_product(levels.reorder_point),
        order_up_to=every_product(levels.order_up_to),
        shortage_cost=np.where(solved, shortage, np.nan),
        cost_with_order=every_product(levels.cost_with_order),
        cost_without_order=every_product(levels.cost_without_order),
        reviews=every_product(levels.reviews, missing=0),
    )


def expected_fill_rate(
    demand_lead_time: DemandDistribution, demand_protection: DemandDistribution, position_after_order: np.ndarray
) -> np.ndarray:
    """Share of the demand after the lead time, up to the next order's arrival, that the position covers."""
    cycle_demand = np.maximum(demand_protection.mean - demand_lead_time.mean, 0.0)
    cycle_shortage = np.maximum(
        demand_protection.expected_shortage(position_after_order)
        - demand_lead_time.expected_shortage(position_after_order),
        0.0,
    )
    ratio = np.divide(cycle_shortage, cycle_demand, out=np.zeros_like(cycle_demand), where=cycle_demand > 0)
    return np.clip(1.0 - ratio, 0.0, 1.0)


@dataclass(frozen=True)
class ReorderPlanLineResult:
    """One product's plan, with every number it came from."""

    product_id: str
    on_hand: float
    on_order: float
    inventory_position: float
    lead_time_mean: float
    lead_time_std: float
    review_period: float
    protection_periods: float
    mean_demand_per_period: float
    mean_demand_lead_time: float
    std_demand_lead_time: float
    mean_demand_protection: float
    std_demand_protection: float
    underage_cost: float
    overage_cost: float
    order_cycle_periods: float
    critical_fractile: float
    service_level_source: ServiceLevelSource
    safety_stock: float
    reorder_point: float
    order_up_to: float
    eoq: float
    lot_size: float
    suggested_quantity: float  # what the policy wants, before budget and capacity
    order_quantity: float  # what to order after budget and capacity (equals suggested when they do not bind)
    expected_fill_rate: float  # with order_quantity
    order_value: float
    order_volume: float
    policy_rule: PolicyRule = "closed_form"  # where s and S came from
    dynamic_reviews: int = 0  # reviews the program looked ahead (dynamic lines)
    program_shortage_cost: float | None = None  # shortage cost per unit the program used (dynamic lines)
    cost_with_order: float | None = None  # program's expected cost over its reviews of the best order now
    cost_without_order: float | None = None  # the same, not ordering now


@dataclass(frozen=True)
class ReorderPlanResult:
    """A plan for many products, plus how the budget and capacity were applied."""

    lines: list[ReorderPlanLineResult]
    policy: PolicyArrays = field(repr=False)
    suggested_value: float
    suggested_volume: float
    order_value: float
    order_volume: float
    budget: float | None
    volume_capacity: float | None
    optimization: OrderOptimizationResult | None = None  # when the budget or capacity had to be applied
    message: str = ""

    def lines_to_order(self) -> list[ReorderPlanLineResult]:
        return [line for line in self.lines if line.order_quantity > 0]


def build_plan_lines(
    products: ProductArrays, policy: PolicyArrays, review_period: float, order_quantity: np.ndarray
) -> list[ReorderPlanLineResult]:
    """Turn the vectorized policy into one dataclass per product."""
    fill_rate = expected_fill_rate(
        policy.demand_lead_time, policy.demand_protection, policy.inventory_position + order_quantity
    )
    columns = {
        "on_hand": products.on_hand,
        "on_order": products.on_order,
        "inventory_position": policy.inventory_position,
        "lead_time_mean": products.lead_time_mean,
        "lead_time_std": products.lead_time_std,
        "protection_periods": policy.protection_periods,
        "mean_demand_per_period": policy.mean_demand_per_period,
        "mean_demand_lead_time": policy.demand_lead_time.mean,
        "std_demand_lead_time": policy.demand_lead_time.std,
        "mean_demand_protection": policy.demand_protection.mean,
        "std_demand_protection": policy.demand_protection.std,
        "underage_cost": policy.underage_cost,
        "overage_cost": policy.overage_cost,
        "order_cycle_periods": policy.order_cycle_periods,
        "critical_fractile": policy.critical_fractile,
        "safety_stock": policy.safety_stock,
        "reorder_point": policy.reorder_point,
        "order_up_to": policy.order_up_to,
        "eoq": policy.eoq,
        "lot_size": policy.lot_size,
        "suggested_quantity": policy.suggested_quantity,
        "order_quantity": order_quantity,
        "expected_fill_rate": fill_rate,
        "order_value": order_quantity * products.unit_cost,
        "order_volume": order_quantity * products.unit_volume,
    }
    as_lists = {name: np.asarray(values, dtype=float).tolist() for name, values in columns.items()}
    sources = np.where(policy.uses_target_service_level, "target", "newsvendor").tolist()
    program: dict[str, Any] = {
        name: [None if np.isnan(value) else float(value) for value in getattr(policy, name)]
        for name in ("program_shortage_cost", "cost_with_order", "cost_without_order")
    }
    rules = policy.rule.tolist()
    return [
        ReorderPlanLineResult(
            product_id=str(product_id),
            review_period=float(review_period),
            service_level_source=sources[i],
            policy_rule=rules[i],
            dynamic_reviews=int(policy.dynamic_reviews[i]),
            **{name: values[i] for name, values in as_lists.items()},
            **{name: values[i] for name, values in program.items()},
        )
        for i, product_id in enumerate(products.product_ids)
    ]
