"""Reorder policy: newsvendor, safety stock, reorder point, EOQ and plan lines against hand-computed formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from inventory.engine.demand_distribution import interval_moments, period_moments_from_quantiles
from inventory.engine.errors import InventoryInputError
from inventory.engine.plan import reorder_plan_compute
from inventory.engine.policy import PlanSettings
from tests.builders.inventory_engine import Z_90, normal_product

product = normal_product


# These tests check the closed-form rule's formulas; the dynamic rule has its own tests (test_engine_dynamic.py).
MONTHLY_NORMAL = PlanSettings(review_period=1, periods_per_year=12, distribution="normal", rule="closed_form")


def test_newsvendor_order_up_to_matches_the_closed_form() -> None:
    # Normal demand mean 100, sd 20 over the protection interval (no lead time, one review period);
    # cu = price - cost = 3, co = cost x 120%/year / 12 x 1 period = 1  ->  S = 100 + 20 z(3 / 4).
    line = reorder_plan_compute([product()], MONTHLY_NORMAL).lines[0]
    expected = 100 + 20 * stats.norm.ppf(0.75)
    assert line.underage_cost == pytest.approx(3.0)
    assert line.overage_cost == pytest.approx(1.0)
    assert line.critical_fractile == pytest.approx(0.75)
    assert line.mean_demand_protection == pytest.approx(100.0)
    assert line.std_demand_protection == pytest.approx(20.0)
    assert line.reorder_point == pytest.approx(expected, rel=1e-9)
    assert line.safety_stock == pytest.approx(20 * stats.norm.ppf(0.75), rel=1e-9)
    # No fixed order cost: the lot is one pack and the policy is base-stock, S = s.
    assert line.order_up_to == pytest.approx(expected, rel=1e-9)
    # Empty shelf: order S rounded up to whole units.
    assert line.suggested_quantity == math.ceil(expected)


def test_stockout_penalty_raises_the_fractile() -> None:
    # cu = 3 + 5 = 8, co = 1 -> 8/9.
    line = reorder_plan_compute([product(stockout_cost=5.0)], MONTHLY_NORMAL).lines[0]
    assert line.critical_fractile == pytest.approx(8 / 9)
    assert line.reorder_point == pytest.approx(100 + 20 * stats.norm.ppf(8 / 9), rel=1e-9)


def test_target_service_level_replaces_the_newsvendor_fractile() -> None:
    line = reorder_plan_compute([product(service_level=0.9)], MONTHLY_NORMAL).lines[0]
    assert line.service_level_source == "target"
    assert line.reorder_point == pytest.approx(100 + 20 * Z_90, rel=1e-9)


def test_protection_interval_adds_lead_time_and_its_variability() -> None:
    # Lead time 2 periods, review 1: 3 periods of N(100, 20^2) -> mean 300, sd 20 sqrt(3).
    fixed = reorder_plan_compute([product(lead_time_mean=2.0)], MONTHLY_NORMAL).lines[0]
    assert fixed.mean_demand_protection == pytest.approx(300.0)
    assert fixed.std_demand_protection == pytest.approx(20 * math.sqrt(3), rel=1e-9)
    assert fixed.mean_demand_lead_time == pytest.approx(200.0)
    # Lead time 2 +- 1: var = E[L + R] sigma^2 + mu^2 Var[L] = 3 * 400 + 100^2 * 1.
    variable = reorder_plan_compute([product(lead_time_mean=2.0, lead_time_std=1.0)], MONTHLY_NORMAL).lines[0]
    assert variable.mean_demand_protection == pytest.approx(300.0, rel=1e-6)
    assert variable.std_demand_protection == pytest.approx(math.sqrt(3 * 400 + 100**2), rel=1e-3)


def test_seasonal_forecast_is_summed_period_by_period() -> None:
    # Demand ramps 10, 20, 30, 40; lead time 2, review 1 -> the next three periods: 10 + 20 + 30.
    means = [10.0, 20.0, 30.0, 40.0]
    line = reorder_plan_compute(
        [product(p10=[m * 0.8 for m in means], p50=means, p90=[m * 1.2 for m in means], lead_time_mean=2.0)],
        MONTHLY_NORMAL,
    ).lines[0]
    assert line.mean_demand_protection == pytest.approx(60.0)
    sd = [0.4 * m / (2 * Z_90) for m in means[:3]]
    assert line.std_demand_protection == pytest.approx(math.sqrt(sum(s * s for s in sd)), rel=1e-9)


def test_gamma_fit_recovers_the_moments_of_gamma_quantiles() -> None:
    shape, scale = 3.0, 5.0
    quantiles = [np.array([stats.gamma.ppf(p, shape, scale=scale)]) for p in (0.1, 0.5, 0.9)]
    mean, var = period_moments_from_quantiles(*quantiles, family="gamma")
    assert mean[0] == pytest.approx(shape * scale, rel=1e-3)
    assert var[0] == pytest.approx(shape * scale**2, rel=1e-2)


def test_intermittent_quantiles_keep_a_sensible_mean() -> None:
    # P10 = P50 = 0, P90 = 4: Swanson's 30/40/30 mean is 1.2; never an exploding gamma.
    mean, var = period_moments_from_quantiles(np.array([0.0]), np.array([0.0]), np.array([4.0]))
    assert mean[0] == pytest.approx(1.2)
    assert var[0] == pytest.approx((4 / (2 * Z_90)) ** 2)
    mean, _ = period_moments_from_quantiles(np.array([0.0]), np.array([0.3]), np.array([4.0]))
    assert 0.3 <= mean[0] <= 4.0


def test_lead_time_mixture_matches_the_textbook_formula_for_stationary_demand() -> None:
    mean, var = interval_moments(np.full((1, 12), 7.0), np.full((1, 12), 9.0), 2.0, np.array([3.0]), np.array([1.5]))
    assert mean[0] == pytest.approx(7 * 5)
    assert var[0] == pytest.approx(9 * 5 + 49 * 1.5**2, rel=1e-3)


def test_eoq_matches_the_closed_form_and_respects_packs_and_moq() -> None:
    # D = 100 per period, K = 50, h = 2 x 120%/year / 12 = 0.2 per unit and period.
    eoq = math.sqrt(2 * 100 * 50 / 0.2)
    base = {"unit_cost": 2.0, "unit_price": 3.0, "order_cost": 50.0}
    line = reorder_plan_compute([product(**base)], MONTHLY_NORMAL).lines[0]
    assert line.eoq == pytest.approx(eoq, rel=1e-9)
    assert line.lot_size == round(eoq)
    packed = reorder_plan_compute([product(**base, pack_size=12.0)], MONTHLY_NORMAL).lines[0]
    assert packed.lot_size == 12 * round(eoq / 12)  # 19 packs of 12
    with_moq = reorder_plan_compute([product(**base, pack_size=12.0, min_order_qty=300.0)], MONTHLY_NORMAL).lines[0]
    assert with_moq.lot_size == 300.0  # the MOQ is 25 whole packs
    # A lot bigger than a period's demand lifts S above s by the lot less half a review period's demand.
    assert with_moq.order_up_to == pytest.approx(with_moq.reorder_point + 300.0 - 100.0 / 2)


def test_plan_line_numbers_are_consistent() -> None:
    products = [
        product(
            product_id="empty",
            on_hand=0.0,
            pack_size=6.0,
            min_order_qty=60.0,
            lead_time_mean=1.0,
            lead_time_std=0.5,
            order_cost=20.0,
        ),
        product(product_id="full", on_hand=500.0, on_order=100.0, lead_time_mean=1.0),
        product(product_id="low", on_hand=100.0, on_order=20.0, pack_size=10.0, lead_time_mean=2.0),
    ]
    plan = reorder_plan_compute(products, PlanSettings(review_period=1, periods_per_year=12, rule="closed_form"))
    for line in plan.lines:
        assert line.inventory_position == pytest.approx(line.on_hand + line.on_order)
        assert line.reorder_point == pytest.approx(line.mean_demand_protection + line.safety_stock)
        assert line.order_up_to >= line.reorder_point
        assert line.protection_periods == pytest.approx(line.lead_time_mean + line.review_period)
        assert 0.0 <= line.expected_fill_rate <= 1.0
        assert line.order_quantity == line.suggested_quantity  # no budget given
        if line.inventory_position < line.reorder_point:
            packs = line.suggested_quantity / (
                6.0 if line.product_id == "empty" else 10.0 if line.product_id == "low" else 1.0
            )
            assert packs == int(packs)
            assert line.inventory_position + line.suggested_quantity >= line.order_up_to
        else:
            assert line.suggested_quantity == 0
    by_id = {line.product_id: line for line in plan.lines}
    assert by_id["full"].suggested_quantity == 0
    assert by_id["empty"].suggested_quantity >= 60.0
    assert by_id["low"].suggested_quantity > 0
    # Ordering raises the expected fill rate over what the current position alone would give.
    assert by_id["empty"].expected_fill_rate > 0.5


def test_expected_fill_rate_matches_the_normal_loss_function() -> None:
    # No lead time, one review period: fill rate = 1 - E[(D - y)+] / E[D], D ~ N(100, 20^2), y = S.
    line = reorder_plan_compute([product(on_hand=0.0)], MONTHLY_NORMAL).lines[0]
    y = line.inventory_position + line.order_quantity
    z = (y - 100) / 20
    shortage = 20 * (stats.norm.pdf(z) - z * stats.norm.sf(z))
    assert line.expected_fill_rate == pytest.approx(1 - shortage / 100, rel=1e-9)


def test_zero_demand_products_order_nothing() -> None:
    line = reorder_plan_compute(
        [product(p10=[0.0] * 4, p50=[0.0] * 4, p90=[0.0] * 4, order_cost=10.0)], PlanSettings(rule="closed_form")
    ).lines[0]
    assert line.suggested_quantity == 0
    assert line.reorder_point == 0


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"p50": [100.0, float("nan"), 100.0, 100.0, 100.0, 100.0]}, ["P50", "sku-1"]),
        ({"p10": [150.0] * 6}, ["P10 <= P50 <= P90", "sku-1"]),
        ({"on_hand": -5.0}, ["on_hand", "negative"]),
        ({"pack_size": 0.0}, ["pack_size", "greater than zero"]),
        ({"service_level": 1.5}, ["service_level"]),
        ({"unit_cost": float("inf")}, ["unit_cost"]),
    ],
)
def test_malformed_input_is_explained(overrides: dict[str, object], words: list[str]) -> None:
    with pytest.raises(InventoryInputError) as error:
        reorder_plan_compute([product(**overrides)], MONTHLY_NORMAL)
    for word in words:
        assert word in str(error.value)


def test_malformed_settings_are_explained() -> None:
    with pytest.raises(InventoryInputError, match="review_period"):
        reorder_plan_compute([product()], PlanSettings(review_period=0))


def test_large_lots_carry_leftovers_longer_so_the_fractile_drops() -> None:
    # K = 200, D = 100/period, h = 0.2 -> EOQ = sqrt(2 * 100 * 200 / 0.2) ~ 447 units: about 4.47 periods per
    # order. A leftover unit is carried that long: co = 0.2 * 4.47 (Hadley-Whitin), cu = 1, so the reorder point
    # covers the protection demand with probability 1 / (1 + 0.894) instead of 1 / (1 + 0.2).
    line = reorder_plan_compute([product(unit_cost=2.0, unit_price=3.0, order_cost=200.0)], MONTHLY_NORMAL).lines[0]
    lot = round(math.sqrt(2 * 100 * 200 / 0.2))
    assert line.lot_size == lot
    assert line.order_cycle_periods == pytest.approx(lot / 100)
    assert line.overage_cost == pytest.approx(0.2 * lot / 100)
    assert line.critical_fractile == pytest.approx(1 / (1 + 0.2 * lot / 100))
    assert line.reorder_point == pytest.approx(100 + 20 * stats.norm.ppf(1 / (1 + 0.2 * lot / 100)), rel=1e-9)
    without_fixed_cost = reorder_plan_compute([product(unit_cost=2.0, unit_price=3.0)], MONTHLY_NORMAL).lines[0]
    assert without_fixed_cost.critical_fractile == pytest.approx(1 / 1.2)
