"""Budget- and capacity-constrained order optimization: brute force on tiny cases, constraints, infeasibility."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from inventory.engine.demand_distribution import DemandDistribution
from inventory.engine.errors import InventoryInputError
from inventory.engine.optimize import OrderCandidates, expected_profit_breakpoints, optimize_orders
from inventory.engine.plan import reorder_plan_compute
from inventory.engine.policy import PlanSettings, ProductInventoryInput


def hand_profit(q: float, mean: float, sd: float, position: float, cu: float, co: float, order_cost: float) -> float:
    """Newsvendor profit of ordering q, by hand: (cu + co) E[min(D, y)] - co y, relative to q = 0, minus K."""

    def value(y: float) -> float:
        z = (y - mean) / sd
        expected_sales = mean - sd * (stats.norm.pdf(z) - z * stats.norm.sf(z))
        return (cu + co) * expected_sales - co * y

    return value(position + q) - value(position) - (order_cost if q > 0 else 0.0)


def make_candidates(
    rng: np.random.Generator, n_products: int, max_breakpoints: int = 16
) -> tuple[OrderCandidates, dict[str, np.ndarray]]:
    mean = rng.uniform(20, 120, n_products)
    sd = mean * rng.uniform(0.1, 0.5, n_products)
    pack = rng.choice(np.array([1.0, 5.0, 10.0]), n_products)
    max_packs = rng.integers(3, 9, n_products)
    facts = {
        "mean": mean,
        "sd": sd,
        "position": np.floor(rng.uniform(0, 0.5, n_products) * mean),
        "cu": rng.uniform(0.5, 4.0, n_products),
        "co": rng.uniform(0.05, 0.5, n_products),
        "pack": pack,
        "max_quantity": max_packs * pack,
        "moq": np.where(rng.random(n_products) < 0.5, 2 * pack, 0.0),
        "order_cost": rng.choice(np.array([0.0, 10.0, 40.0]), n_products),
        "unit_cost": rng.uniform(1.0, 5.0, n_products),
        "unit_volume": rng.uniform(0.1, 1.0, n_products),
    }
    demand = DemandDistribution(mean=mean, std=sd, family="normal")
    quantity, profit = expected_profit_breakpoints(
        demand, facts["position"], facts["max_quantity"], pack, facts["moq"], facts["cu"], facts["co"], max_breakpoints
    )
    candidates = OrderCandidates(
        product_ids=np.array([f"p{i}" for i in range(n_products)], dtype=object),
        unit_cost=facts["unit_cost"],
        unit_volume=facts["unit_volume"],
        pack_size=pack,
        min_order_qty=facts["moq"],
        order_cost=facts["order_cost"],
        max_quantity=facts["max_quantity"],
        mandatory=np.zeros(n_products, bool),
        breakpoint_quantity=quantity,
        breakpoint_profit=profit,
    )
    return candidates, facts


def brute_force(facts: dict[str, np.ndarray], budget: float, volume: float) -> tuple[float, tuple[float, ...]]:
    """Try every whole-pack quantity (0, or MOQ..max) of every product; keep the best that fits."""
    choices = []
    for i in range(len(facts["mean"])):
        pack = facts["pack"][i]
        allowed = [0.0] + [
            k * pack for k in range(1, int(facts["max_quantity"][i] / pack) + 1) if k * pack >= facts["moq"][i]
        ]
        choices.append(allowed)
    best_value, best_plan = -np.inf, ()
    for plan in itertools.product(*choices):
        q = np.array(plan)
        if q @ facts["unit_cost"] > budget + 1e-9 or q @ facts["unit_volume"] > volume + 1e-9:
            continue
        value = sum(
            hand_profit(
                q[i],
                facts["mean"][i],
                facts["sd"][i],
                facts["position"][i],
                facts["cu"][i],
                facts["co"][i],
                facts["order_cost"][i],
            )
            for i in range(len(q))
        )
        if value > best_value:
            best_value, best_plan = value, plan
    return best_value, best_plan


@pytest.mark.parametrize("reduce", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force_on_tiny_cases(seed: int, reduce: bool) -> None:
    rng = np.random.default_rng(seed)
    candidates, facts = make_candidates(rng, n_products=int(rng.integers(2, 4)))
    everything = facts["max_quantity"]
    budget = float(rng.uniform(0.2, 0.8) * (everything @ facts["unit_cost"]))
    volume = float(rng.uniform(0.3, 1.0) * (everything @ facts["unit_volume"]))
    expected_value, expected_plan = brute_force(facts, budget, volume)

    result = optimize_orders(candidates, budget=budget, volume_capacity=volume, reduce=reduce, mip_rel_gap=1e-9)
    assert result.status == "optimal"
    achieved = sum(
        hand_profit(
            result.quantities[i],
            facts["mean"][i],
            facts["sd"][i],
            facts["position"][i],
            facts["cu"][i],
            facts["co"][i],
            facts["order_cost"][i],
        )
        for i in range(len(result.quantities))
    )
    assert achieved == pytest.approx(expected_value, rel=1e-7, abs=1e-7)
    assert result.expected_profit == pytest.approx(expected_value, rel=1e-7, abs=1e-7)
    assert result.quantities @ facts["unit_cost"] <= budget + 1e-9
    assert result.quantities @ facts["unit_volume"] <= volume + 1e-9
    assert len(expected_plan) == len(result.quantities)


def test_every_constraint_holds_on_a_larger_instance() -> None:
    rng = np.random.default_rng(42)
    candidates, facts = make_candidates(rng, n_products=300, max_breakpoints=6)
    budget = 0.4 * float(facts["max_quantity"] @ facts["unit_cost"])
    volume = 0.5 * float(facts["max_quantity"] @ facts["unit_volume"])
    result = optimize_orders(candidates, budget=budget, volume_capacity=volume)
    q = result.quantities
    assert result.ok
    assert q @ facts["unit_cost"] <= budget + 1e-6
    assert q @ facts["unit_volume"] <= volume + 1e-6
    assert np.allclose(q / facts["pack"], np.round(q / facts["pack"]))
    assert np.all((q == 0) | (q >= facts["moq"]))
    assert np.all(q <= facts["max_quantity"] + 1e-9)
    # The budget binds, so the solver should use nearly all of it.
    assert q @ facts["unit_cost"] > 0.97 * budget
    # The exact reduction and the whole model agree.
    whole = optimize_orders(candidates, budget=budget, volume_capacity=volume, reduce=False, time_limit=60)
    assert result.expected_profit == pytest.approx(whole.expected_profit, rel=2e-4)
    assert result.profit_upper_bound is not None and result.profit_upper_bound >= result.expected_profit - 1e-6


def test_tight_budget_goes_to_the_product_that_earns_more() -> None:
    def item(product_id: str, price: float) -> ProductInventoryInput:
        return ProductInventoryInput(
            product_id=product_id,
            p10=[60.0] * 4,
            p50=[100.0] * 4,
            p90=[140.0] * 4,
            on_hand=0.0,
            unit_cost=10.0,
            unit_price=price,
            lead_time_mean=0.0,
        )

    plan = reorder_plan_compute(
        [item("thin-margin", 11.0), item("fat-margin", 20.0)], PlanSettings(periods_per_year=52), budget=1_000.0
    )
    by_id = {line.product_id: line for line in plan.lines}
    assert by_id["fat-margin"].order_quantity == 100  # the whole budget: 100 units at 10
    assert by_id["thin-margin"].order_quantity == 0
    assert plan.order_value <= 1_000.0
    assert "budget" in plan.message
    # Without a budget both get their full suggestion.
    free = reorder_plan_compute(
        [item("thin-margin", 11.0), item("fat-margin", 20.0)], PlanSettings(periods_per_year=52)
    )
    assert all(line.order_quantity == line.suggested_quantity > 100 for line in free.lines)


def test_mandatory_minimums_over_budget_are_explained() -> None:
    rng = np.random.default_rng(3)
    candidates, facts = make_candidates(rng, n_products=3)
    mandatory = np.array([True, True, False])
    moq = np.array([50.0, 40.0, 0.0])
    pack = np.ones(3)
    demand = DemandDistribution(mean=facts["mean"], std=facts["sd"], family="normal")
    quantity, profit = expected_profit_breakpoints(
        demand, facts["position"], np.full(3, 80.0), pack, moq, facts["cu"], facts["co"]
    )
    candidates = OrderCandidates(
        product_ids=np.array(["flour", "sugar", "salt"], dtype=object),
        unit_cost=np.array([2.0, 3.0, 1.0]),
        unit_volume=np.ones(3),
        pack_size=pack,
        min_order_qty=moq,
        order_cost=np.zeros(3),
        max_quantity=np.full(3, 80.0),
        mandatory=mandatory,
        breakpoint_quantity=quantity,
        breakpoint_profit=profit,
    )
    # Minimum spend: flour 50 x 2 + sugar 40 x 3 = 220 > 150.
    result = optimize_orders(candidates, budget=150.0)
    assert result.status == "infeasible"
    assert "220" in result.message and "150" in result.message
    assert "sugar" in result.message and "flour" in result.message
    assert not result.quantities.any()
    # With room for the minimums, the mandatory products are ordered.
    feasible = optimize_orders(candidates, budget=230.0)
    assert feasible.ok
    assert feasible.quantities[0] >= 50 and feasible.quantities[1] >= 40


def test_mandatory_product_that_cannot_be_ordered_is_explained() -> None:
    plan = reorder_plan_compute(
        [
            ProductInventoryInput(
                product_id="ice",
                p10=[0.0] * 3,
                p50=[0.0] * 3,
                p90=[0.0] * 3,
                on_hand=0.0,
                unit_cost=1.0,
                min_order_qty=500.0,
            )
        ],
        PlanSettings(),
        budget=100.0,
        mandatory=np.array([True]),
    )
    assert plan.optimization is not None and plan.optimization.status == "infeasible"
    assert "500" in plan.message and "100" in plan.message
    assert plan.lines[0].order_quantity == 0


@pytest.mark.parametrize(
    ("budget", "volume", "words"),
    [
        (100.0, -5.0, ["volume capacity", "negative"]),
        (float("nan"), None, ["budget", "finite"]),
        (-1.0, None, ["budget", "negative"]),
    ],
)
def test_malformed_limits_are_explained(budget: float, volume: float | None, words: list[str]) -> None:
    candidates, _ = make_candidates(np.random.default_rng(0), n_products=2)
    with pytest.raises(InventoryInputError) as error:
        optimize_orders(candidates, budget=budget, volume_capacity=volume)
    for word in words:
        assert word in str(error.value)


def test_nan_cost_is_explained_with_the_product() -> None:
    candidates, _ = make_candidates(np.random.default_rng(0), n_products=2)
    broken = OrderCandidates(**{**candidates.__dict__, "unit_cost": np.array([1.0, np.nan])})
    with pytest.raises(InventoryInputError, match=r"unit_cost.*p1"):
        optimize_orders(broken, budget=100.0)


def test_negative_capacity_in_a_plan_is_explained_not_a_crash() -> None:
    item = ProductInventoryInput(
        product_id="a", p10=[5.0], p50=[10.0], p90=[15.0], on_hand=0.0, unit_cost=1.0, unit_volume=1.0
    )
    with pytest.raises(InventoryInputError, match="negative"):
        reorder_plan_compute([item], PlanSettings(), volume_capacity=-3.0)


class _StoppedWithoutAnswer:
    """What scipy's milp returns when HiGHS hits its time limit before finding any plan."""

    status, x, mip_dual_bound, message = 1, None, None, "Time limit reached."


@pytest.mark.parametrize("seed", range(4))
def test_time_limit_without_an_answer_falls_back_to_a_feasible_plan(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    import inventory.engine.optimize as optimize_module

    monkeypatch.setattr(optimize_module, "milp", lambda *args, **kwargs: _StoppedWithoutAnswer())
    rng = np.random.default_rng(seed)
    candidates, facts = make_candidates(rng, n_products=40, max_breakpoints=6)
    candidates = OrderCandidates(**{**candidates.__dict__, "mandatory": np.arange(40) < 3})
    budget = 0.3 * float(facts["max_quantity"] @ facts["unit_cost"])
    volume = 0.35 * float(facts["max_quantity"] @ facts["unit_volume"])
    result = optimize_orders(candidates, budget=budget, volume_capacity=volume, reduce=False)

    q = result.quantities
    assert result.status == "feasible"
    assert result.solver_path == "greedy"  # no solver answer and no reduction: the greedy plan
    assert "not proven optimal" in result.message and "greedy" in result.message and "MIP gap" in result.message
    assert q @ facts["unit_cost"] <= budget + 1e-9
    assert q @ facts["unit_volume"] <= volume + 1e-9
    assert np.allclose(q / facts["pack"], np.round(q / facts["pack"]))
    assert np.all((q == 0) | (q >= facts["moq"]))
    assert np.all(q <= facts["max_quantity"] + 1e-9)
    assert np.all(q[:3] > 0)  # the mandatory products are ordered
    assert result.expected_profit > 0
    # The greedy plan uses most of the tighter limit.
    assert max(q @ facts["unit_cost"] / budget, q @ facts["unit_volume"] / volume) > 0.9


def test_tight_budget_with_a_tiny_time_limit_still_returns_a_feasible_plan_and_says_how() -> None:
    rng = np.random.default_rng(5)
    candidates, facts = make_candidates(rng, n_products=400, max_breakpoints=6)
    budget = 0.05 * float(facts["max_quantity"] @ facts["unit_cost"])
    volume = 0.05 * float(facts["max_quantity"] @ facts["unit_volume"])
    result = optimize_orders(candidates, budget=budget, volume_capacity=volume, reduce=False, time_limit=1e-6)
    q = result.quantities
    assert result.ok
    assert result.solver_path in ("highs", "highs_time_limit", "greedy")
    assert "Solver path" in result.message and result.mip_gap is not None
    assert q @ facts["unit_cost"] <= budget + 1e-9
    assert q @ facts["unit_volume"] <= volume + 1e-9
    assert np.allclose(q / facts["pack"], np.round(q / facts["pack"]))
    assert np.all((q == 0) | (q >= facts["moq"]))
    assert np.all(q <= facts["max_quantity"] + 1e-9)


def _cycle_stock_value_by_hand(
    level: float, s: float, demand: float, review: float, h: float, order_cost: float, co: float
) -> float:
    """Integrate the marginal value of the lot numerically from 0: co + K / Q - h Q / (2 D), Q = max(u - s + D R / 2,
    D R)."""
    u = np.linspace(0.0, level, 20_001)
    lot = np.maximum(u - s + demand * review / 2, demand * review)
    return float(np.trapezoid(co + order_cost / lot - h * lot / (2 * demand), u))


@pytest.mark.parametrize("seed", range(6))
def test_fixed_order_costs_brute_force_with_cycle_stock(seed: int) -> None:
    """With fixed order costs the lot above the reorder point is worth buying; the optimizer matches a brute force
    over every whole-pack quantity of the profit computed by hand, and spends the budget when that pays."""
    from inventory.engine.optimize import CycleStockTerms

    rng = np.random.default_rng(100 + seed)
    n = 2
    mean, sd = rng.uniform(40, 80, n), rng.uniform(5, 15, n)
    demand_per_period = mean / 2  # protection interval of two periods, one-period review
    position = np.zeros(n)
    cu, co = rng.uniform(1.0, 3.0, n), rng.uniform(0.05, 0.2, n)
    h = co / 2
    order_cost = rng.uniform(10.0, 40.0, n)
    s = mean + sd * 1.2
    pack = np.array([5.0, 5.0])
    max_quantity = np.round((s + 2 * demand_per_period) / 5) * 5
    unit_cost, unit_volume = rng.uniform(1.0, 3.0, n), np.ones(n)
    terms = CycleStockTerms(
        reorder_point=s,
        mean_demand_per_period=demand_per_period,
        review_period=1.0,
        holding_cost_per_period=h,
        order_cost=order_cost,
    )
    quantity, profit = expected_profit_breakpoints(
        DemandDistribution(mean=mean, std=sd, family="normal"),
        position,
        max_quantity,
        pack,
        np.zeros(n),
        cu,
        co,
        max_breakpoints=40,
        cycle_stock=terms,
    )
    candidates = OrderCandidates(
        product_ids=np.array(["a", "b"], dtype=object),
        unit_cost=unit_cost,
        unit_volume=unit_volume,
        pack_size=pack,
        min_order_qty=np.zeros(n),
        order_cost=order_cost,
        max_quantity=max_quantity,
        mandatory=np.zeros(n, bool),
        breakpoint_quantity=quantity,
        breakpoint_profit=profit,
    )
    budget = 0.85 * float(max_quantity @ unit_cost)

    def by_hand(i: int, q: float) -> float:
        base = hand_profit(q, mean[i], sd[i], position[i], cu[i], co[i], order_cost[i])
        return base + _cycle_stock_value_by_hand(
            position[i] + q, s[i], demand_per_period[i], 1.0, h[i], order_cost[i], co[i]
        )

    best, best_plan = -np.inf, None
    for plan in itertools.product(*[np.arange(0, max_quantity[i] + 1, 5) for i in range(n)]):
        q = np.array(plan, dtype=float)
        if q @ unit_cost > budget + 1e-9:
            continue
        value = by_hand(0, q[0]) + by_hand(1, q[1])
        if value > best:
            best, best_plan = value, q
    result = optimize_orders(candidates, budget=budget, mip_rel_gap=1e-9)
    achieved = by_hand(0, result.quantities[0]) + by_hand(1, result.quantities[1])
    assert achieved == pytest.approx(best, rel=1e-5, abs=1e-4)
    assert best_plan is not None
    # The best plan buys stock above the reorder point (the lot), so most of the budget is used.
    assert result.order_value > 0.75 * budget


def test_budget_just_below_the_suggestion_is_spent_when_orders_have_a_fixed_cost() -> None:
    def item(product_id: str) -> ProductInventoryInput:
        return ProductInventoryInput(
            product_id=product_id,
            p10=[70.0] * 8,
            p50=[100.0] * 8,
            p90=[130.0] * 8,
            on_hand=0.0,
            unit_cost=10.0,
            unit_price=15.0,
            order_cost=100.0,
            lead_time_mean=1.0,
        )

    settings = PlanSettings(periods_per_year=52)
    free = reorder_plan_compute([item("a"), item("b")], settings)
    assert all(line.lot_size > 200 for line in free.lines)  # the EOQ lot covers several weeks
    budget = 0.9 * free.suggested_value
    plan = reorder_plan_compute([item("a"), item("b")], settings, budget=budget)
    assert plan.order_value <= budget
    assert plan.order_value > 0.95 * budget  # not half of it: the lots above the reorder points are worth buying


def test_a_solver_answer_past_the_budget_is_never_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    import inventory.engine.optimize as optimize_module

    class OverBudget:
        """HiGHS claiming optimality for 'order everything' (as a tolerance slip would, only larger)."""

        status, mip_dual_bound, message = 0, None, "Optimization terminated successfully."

        def __init__(self, upper: np.ndarray) -> None:
            self.x = upper

    monkeypatch.setattr(
        optimize_module,
        "milp",
        lambda c, integrality, bounds, constraints, options: OverBudget(np.asarray(bounds.ub, dtype=float)),
    )
    candidates, facts = make_candidates(np.random.default_rng(9), n_products=30, max_breakpoints=6)
    budget = 0.3 * float(facts["max_quantity"] @ facts["unit_cost"])
    result = optimize_orders(candidates, budget=budget, reduce=False)
    assert result.ok
    assert result.quantities @ facts["unit_cost"] <= budget + 1e-9
    assert result.solver_path == "greedy"
    assert result.status == "feasible"
