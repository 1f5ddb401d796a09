"""Budget- and capacity-constrained order optimization: brute force on tiny cases, constraints, infeasibility."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from inventory.engine.demand import DemandDistribution
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


def make_candidates(rng: np.random.Generator, n_products: int, max_breakpoints: int = 16) -> tuple[
        OrderCandidates, dict[str, np.ndarray]]:
    mean = rng.uniform(20, 120, n_products)
    sd = mean * rng.uniform(0.1, 0.5, n_products)
    pack = rng.choice(np.array([1.0, 5.0, 10.0]), n_products)
    max_packs = rng.integers(3, 9, n_products)
    facts = {
        "mean": mean, "sd": sd, "position": np.floor(rng.uniform(0, 0.5, n_products) * mean),
        "cu": rng.uniform(0.5, 4.0, n_products), "co": rng.uniform(0.05, 0.5, n_products), "pack": pack,
        "max_quantity": max_packs * pack, "moq": np.where(rng.random(n_products) < 0.5, 2 * pack, 0.0),
        "order_cost": rng.choice(np.array([0.0, 10.0, 40.0]), n_products),
        "unit_cost": rng.uniform(1.0, 5.0, n_products), "unit_volume": rng.uniform(0.1, 1.0, n_products),
    }
    demand = DemandDistribution(mean=mean, std=sd, family="normal")
    quantity, profit = expected_profit_breakpoints(demand, facts["position"], facts["max_quantity"], pack,
                                                   facts["moq"], facts["cu"], facts["co"], max_breakpoints)
    candidates = OrderCandidates(
        product_ids=np.array([f"p{i}" for i in range(n_products)], dtype=object), unit_cost=facts["unit_cost"],
        unit_volume=facts["unit_volume"], pack_size=pack, min_order_qty=facts["moq"],
        order_cost=facts["order_cost"], max_quantity=facts["max_quantity"], mandatory=np.zeros(n_products, bool),
        breakpoint_quantity=quantity, breakpoint_profit=profit)
    return candidates, facts


def brute_force(facts: dict[str, np.ndarray], budget: float, volume: float) -> tuple[float, tuple[float, ...]]:
    """Try every whole-pack quantity (0, or MOQ..max) of every product; keep the best that fits."""
    choices = []
    for i in range(len(facts["mean"])):
        pack = facts["pack"][i]
        allowed = [0.0] + [k * pack for k in range(1, int(facts["max_quantity"][i] / pack) + 1)
                           if k * pack >= facts["moq"][i]]
        choices.append(allowed)
    best_value, best_plan = -np.inf, ()
    for plan in itertools.product(*choices):
        q = np.array(plan)
        if q @ facts["unit_cost"] > budget + 1e-9 or q @ facts["unit_volume"] > volume + 1e-9:
            continue
        value = sum(hand_profit(q[i], facts["mean"][i], facts["sd"][i], facts["position"][i], facts["cu"][i],
                                facts["co"][i], facts["order_cost"][i]) for i in range(len(q)))
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
    achieved = sum(hand_profit(result.quantities[i], facts["mean"][i], facts["sd"][i], facts["position"][i],
                               facts["cu"][i], facts["co"][i], facts["order_cost"][i])
                   for i in range(len(result.quantities)))
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
        return ProductInventoryInput(product_id=product_id, p10=[60.0] * 4, p50=[100.0] * 4, p90=[140.0] * 4,
                                     on_hand=0.0, unit_cost=10.0, unit_price=price, lead_time_mean=0.0)

    plan = reorder_plan_compute([item("thin-margin", 11.0), item("fat-margin", 20.0)],
                                PlanSettings(periods_per_year=52), budget=1_000.0)
    by_id = {line.product_id: line for line in plan.lines}
    assert by_id["fat-margin"].order_quantity == 100  # the whole budget: 100 units at 10
    assert by_id["thin-margin"].order_quantity == 0
    assert plan.order_value <= 1_000.0
    assert "budget" in plan.message
    # Without a budget both get their full suggestion.
    free = reorder_plan_compute([item("thin-margin", 11.0), item("fat-margin", 20.0)],
                                PlanSettings(periods_per_year=52))
    assert all(line.order_quantity == line.suggested_quantity > 100 for line in free.lines)


def test_mandatory_minimums_over_budget_are_explained() -> None:
    rng = np.random.default_rng(3)
    candidates, facts = make_candidates(rng, n_products=3)
    mandatory = np.array([True, True, False])
    moq = np.array([50.0, 40.0, 0.0])
    pack = np.ones(3)
    demand = DemandDistribution(mean=facts["mean"], std=facts["sd"], family="normal")
    quantity, profit = expected_profit_breakpoints(demand, facts["position"], np.full(3, 80.0), pack, moq,
                                                   facts["cu"], facts["co"])
    candidates = OrderCandidates(
        product_ids=np.array(["flour", "sugar", "salt"], dtype=object), unit_cost=np.array([2.0, 3.0, 1.0]),
        unit_volume=np.ones(3), pack_size=pack, min_order_qty=moq, order_cost=np.zeros(3),
        max_quantity=np.full(3, 80.0), mandatory=mandatory, breakpoint_quantity=quantity, breakpoint_profit=profit)
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
        [ProductInventoryInput(product_id="ice", p10=[0.0] * 3, p50=[0.0] * 3, p90=[0.0] * 3, on_hand=0.0,
                               unit_cost=1.0, min_order_qty=500.0)],
        PlanSettings(), budget=100.0, mandatory=np.array([True]))
    assert plan.optimization is not None and plan.optimization.status == "infeasible"
    assert "500" in plan.message and "100" in plan.message
    assert plan.lines[0].order_quantity == 0


@pytest.mark.parametrize(
    ("budget", "volume", "words"),
    [(100.0, -5.0, ["volume capacity", "negative"]), (float("nan"), None, ["budget", "finite"]),
     (-1.0, None, ["budget", "negative"])],
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
    item = ProductInventoryInput(product_id="a", p10=[5.0], p50=[10.0], p90=[15.0], on_hand=0.0, unit_cost=1.0,
                                 unit_volume=1.0)
    with pytest.raises(InventoryInputError, match="negative"):
        reorder_plan_compute([item], PlanSettings(), volume_capacity=-3.0)
