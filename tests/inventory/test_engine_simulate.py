"""The inventory simulator: hand-traced periods, the stock ledger balances, lost sales, rules and hindsight search."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from inventory.engine.errors import InventoryInputError
from inventory.engine.policy import PlanSettings
from inventory.engine.simulate import (
    FixedOrderUpTo,
    FixedReorderPointOrderUpTo,
    NaiveLastPeriodSales,
    RollingPlanPolicy,
    SimulationCosts,
    best_fixed_order_up_to,
    best_fixed_reorder_point_order_up_to,
    simulate_inventory,
)
from tests.builders.inventory_engine import product_arrays


def costs(n: int = 1, holding: float = 0.1, order: float = 2.0, shortage: float = 3.0) -> SimulationCosts:
    return SimulationCosts(
        holding_per_unit_period=np.full(n, holding),
        order_cost=np.full(n, order),
        shortage_per_unit=np.full(n, shortage),
        unit_cost=np.ones(n),
    )


def test_order_up_to_with_one_period_lead_time_traced_by_hand() -> None:
    demand = np.array([[5.0], [8.0], [2.0], [5.0]])
    result = simulate_inventory(
        demand, FixedOrderUpTo(np.array([10.0])), costs=costs(), initial_on_hand=10.0, lead_times=1
    )
    ledger = result.ledger
    assert ledger.start_on_hand[:, 0].tolist() == [10, 5, 0, 3]
    assert ledger.receipts[:, 0].tolist() == [0, 0, 5, 5]
    assert ledger.order_quantity[:, 0].tolist() == [0, 5, 5, 2]
    assert ledger.sales[:, 0].tolist() == [5, 5, 2, 5]
    assert ledger.lost_sales[:, 0].tolist() == [0, 3, 0, 0]  # lost, never served later
    assert ledger.end_on_hand[:, 0].tolist() == [5, 0, 3, 3]
    assert result.holding_cost[0] == pytest.approx(0.1 * (5 + 0 + 3 + 3))
    assert result.ordering_cost[0] == pytest.approx(2.0 * 3)
    assert result.shortage_cost[0] == pytest.approx(3.0 * 3)
    assert result.total_cost[0] == pytest.approx(1.1 + 6 + 9)
    assert result.purchase_cost[0] == pytest.approx(12.0)
    assert result.fill_rate[0] == pytest.approx(17 / 20)
    assert result.stockout_periods[0] == 1
    assert result.average_on_hand[0] == pytest.approx(11 / 4)


def test_zero_lead_time_arrives_before_the_demand() -> None:
    demand = np.array([[5.0], [8.0], [2.0], [5.0]])
    result = simulate_inventory(
        demand, FixedOrderUpTo(np.array([10.0])), costs=costs(), initial_on_hand=10.0, lead_times=0
    )
    assert result.ledger.receipts[:, 0].tolist() == [0, 5, 8, 2]
    assert result.ledger.end_on_hand[:, 0].tolist() == [5, 2, 8, 5]
    assert result.ledger.lost_sales.sum() == 0


def test_naive_rule_orders_what_sold_last_period() -> None:
    demand = np.array([[5.0], [8.0], [2.0], [5.0]])
    result = simulate_inventory(
        demand, NaiveLastPeriodSales(), costs=costs(), initial_on_hand=10.0, lead_times=1, history=np.array([[4.0]])
    )
    assert result.ledger.order_quantity[:, 0].tolist() == [4, 5, 8, 2]
    assert result.ledger.end_on_hand[:, 0].tolist() == [5, 1, 4, 7]


def test_reorder_point_rule_waits_until_the_position_drops_below_s() -> None:
    demand = np.full((6, 1), 3.0)
    rule = FixedReorderPointOrderUpTo(reorder_point=np.array([5.0]), order_up_to=np.array([12.0]))
    result = simulate_inventory(demand, rule, costs=costs(), initial_on_hand=12.0, lead_times=1)
    # Position 12, 9, 6 -> no order; 3 < 5 -> order 9 up to 12; then 9, 6 -> no order.
    assert result.ledger.order_quantity[:, 0].tolist() == [0, 0, 0, 9, 0, 0]


def test_packs_and_minimum_orders_apply_to_every_rule() -> None:
    demand = np.full((5, 1), 7.0)
    result = simulate_inventory(
        demand,
        FixedOrderUpTo(np.array([20.0])),
        costs=costs(),
        initial_on_hand=13.0,
        lead_times=1,
        pack_size=6.0,
        min_order_qty=18.0,
    )
    placed = result.ledger.order_quantity[:, 0]
    assert np.all((placed == 0) | ((placed % 6 == 0) & (placed >= 18)))


def test_review_period_orders_only_on_review_days() -> None:
    demand = np.full((6, 1), 2.0)
    result = simulate_inventory(
        demand, FixedOrderUpTo(np.array([10.0])), costs=costs(), initial_on_hand=5.0, lead_times=0, review_period=3
    )
    assert np.flatnonzero(result.ledger.order_quantity[:, 0]).tolist() == [0, 3]


def _oracle_forecast(mean: float):
    def forecast(history: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = history.shape[1]
        return tuple(np.full((n, horizon), stats.poisson.ppf(p, mean)) for p in (0.1, 0.5, 0.9))

    return forecast


def test_ledger_balances_every_period_for_every_rule() -> None:
    rng = np.random.default_rng(11)
    n_products, n_periods = 8, 60
    demand = rng.poisson(rng.uniform(0.5, 30, n_products), size=(n_periods, n_products)).astype(float)
    lead_times = rng.integers(0, 4, size=(n_periods, n_products))
    products = product_arrays(
        n_products,
        order_cost=rng.choice([0.0, 10.0], n_products),
        pack_size=rng.choice([1.0, 6.0], n_products),
        lead_time_mean=np.full(n_products, 1.5),
        lead_time_std=np.full(n_products, 1.1),
    )
    plan = RollingPlanPolicy(products=products, forecast=_oracle_forecast(15.0), settings=PlanSettings(), horizon=6)
    rules = [
        plan,
        NaiveLastPeriodSales(),
        FixedOrderUpTo(np.full(n_products, 40.0)),
        FixedReorderPointOrderUpTo(np.full(n_products, 20.0), np.full(n_products, 60.0)),
    ]
    for rule in rules:
        result = simulate_inventory(
            demand,
            rule,
            costs=costs(n_products),
            initial_on_hand=rng.integers(0, 30, n_products),
            lead_times=lead_times,
            pack_size=products.pack_size,
            history=demand[:3],
            initial_arrivals=np.array([np.full(n_products, 5.0), np.zeros(n_products), np.full(n_products, 2.0)]),
        )
        ledger = result.ledger
        assert np.abs(ledger.imbalance()).max() < 1e-9, type(rule).__name__
        # Each period starts with what the previous one ended with; stock is never negative.
        assert np.array_equal(ledger.start_on_hand[1:], ledger.end_on_hand[:-1])
        assert ledger.end_on_hand.min() >= 0
        assert np.allclose(ledger.sales + ledger.lost_sales, demand)
        # Every unit received was ordered (or was already on the way at the start).
        assert ledger.receipts.sum() <= ledger.order_quantity.sum() + 7 * n_products + 1e-9
    assert len(plan.plans) == n_periods


def test_oracle_forecast_plan_delivers_about_its_service_level() -> None:
    # Poisson(20) demand, lead time 1, weekly review, 95% cycle service target: few periods with lost sales.
    rng = np.random.default_rng(5)
    demand = rng.poisson(20, size=(1000, 1)).astype(float)
    products = product_arrays(1, service_level=np.array([0.95]))
    plan = RollingPlanPolicy(products=products, forecast=_oracle_forecast(20.0), settings=PlanSettings(), horizon=4)
    result = simulate_inventory(demand, plan, costs=costs(), initial_on_hand=40.0, lead_times=1)
    naive = simulate_inventory(
        demand, NaiveLastPeriodSales(), costs=costs(), initial_on_hand=40.0, lead_times=1, history=np.array([[20.0]])
    )
    assert result.stockout_periods[0] / 1000 <= 0.06
    assert result.fill_rate[0] >= 0.98
    # The naive rule keeps its starting position (40 on hand + 20 ordered = 3 periods of demand): more stock.
    assert result.average_on_hand[0] < naive.average_on_hand[0] - 5


def test_hindsight_level_is_at_least_as_good_as_every_whole_level() -> None:
    rng = np.random.default_rng(2)
    demand = rng.poisson(12, size=(40, 2)).astype(float)
    demand[20:, 1] *= 3  # a level shift: no fixed level fits both halves, the search must still find the best one
    cost_rates = costs(2, holding=0.2, order=1.0, shortage=2.0)
    best = best_fixed_order_up_to(demand, costs=cost_rates, initial_on_hand=np.array([20.0, 20.0]), lead_times=1)
    levels = np.arange(0, 151, dtype=float)
    for product in range(2):
        every = simulate_inventory(
            np.repeat(demand[:, [product]], len(levels), axis=1),
            FixedOrderUpTo(levels),
            costs=SimulationCosts(
                **{
                    k: np.full(len(levels), getattr(cost_rates, k)[product])
                    for k in SimulationCosts.__dataclass_fields__
                }
            ),
            initial_on_hand=20.0,
            lead_times=1,
        )
        assert best.total_cost[product] <= every.total_cost.min() + 1e-9
    assert best.simulation.ledger.imbalance().max() < 1e-9


def test_bad_simulation_input_is_explained() -> None:
    with pytest.raises(InventoryInputError, match="demand"):
        simulate_inventory(
            np.array([[1.0], [np.nan]]), FixedOrderUpTo(np.array([5.0])), costs=costs(), initial_on_hand=0.0
        )
    with pytest.raises(InventoryInputError, match="lead times"):
        simulate_inventory(
            np.ones((2, 1)),
            FixedOrderUpTo(np.array([5.0])),
            costs=costs(),
            initial_on_hand=0.0,
            lead_times=np.array([[1.5], [1.0]]),
        )


def test_hindsight_pair_batches_orders_when_orders_are_expensive() -> None:
    rng = np.random.default_rng(8)
    demand = rng.poisson(10, size=(52, 3)).astype(float)
    expensive_orders = costs(3, holding=0.05, order=60.0, shortage=4.0)
    base_stock = best_fixed_order_up_to(demand, costs=expensive_orders, initial_on_hand=20.0, lead_times=1)
    pair = best_fixed_reorder_point_order_up_to(demand, costs=expensive_orders, initial_on_hand=20.0, lead_times=1)
    assert pair.reorder_point is not None
    assert np.all(pair.level > pair.reorder_point)  # S above s: lots bigger than one period's demand
    # A base-stock level either orders almost every week (60 each) or not at all; the pair orders a few big lots.
    assert np.all((pair.simulation.orders_placed > 0) & (pair.simulation.orders_placed <= 10))
    assert np.all(pair.total_cost < 0.5 * base_stock.total_cost)
    assert np.abs(pair.simulation.ledger.imbalance()).max() < 1e-9
