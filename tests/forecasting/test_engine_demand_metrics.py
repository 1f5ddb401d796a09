"""Forecast metrics and demand classification against values worked out by hand on tiny examples."""

import math

import numpy as np
import pytest

from forecasting.engine.demand_classify import DemandClass, classify_demand
from forecasting.engine.demand_metrics import (
    aggregate_backtests,
    backtest_metrics,
    interval_coverage,
    mean_absolute_scaled_error,
    pinball_loss,
    root_mean_squared_error,
    seasonal_naive_scale,
    share_at_or_below,
    share_below,
    weighted_absolute_percentage_error,
)

# Four held-out periods and the quantile forecasts for them.
ACTUAL = np.array([10.0, 0.0, 5.0, 20.0])
P10 = np.array([5.0, 0.0, 4.0, 15.0])
P50 = np.array([8.0, 2.0, 5.0, 25.0])
P90 = np.array([12.0, 3.0, 9.0, 19.0])
HISTORY = np.array([1.0, 3.0, 2.0, 6.0])  # naive in-sample errors 2, 1, 4: scale 7/3


def test_seasonal_naive_scale_uses_the_season_lag_and_falls_back_to_naive():
    # lag 2: |2-1|, |6-3|, |4-2| = 1, 3, 2
    assert seasonal_naive_scale([1, 3, 2, 6, 4], season_length=2) == pytest.approx(2.0)
    # shorter than a season plus one: plain naive, |3-1|, |2-3|, |6-2|
    assert seasonal_naive_scale(HISTORY, season_length=12) == pytest.approx(7 / 3)


def test_point_metrics_match_hand_computation():
    # absolute errors 2, 2, 0, 5 -> MAE 9/4; squared 4, 4, 0, 25
    assert mean_absolute_scaled_error(ACTUAL, P50, 7 / 3) == pytest.approx((9 / 4) / (7 / 3))
    assert weighted_absolute_percentage_error(ACTUAL, P50) == pytest.approx(9 / 35)
    assert root_mean_squared_error(ACTUAL, P50) == pytest.approx(math.sqrt(33 / 4))


def test_pinball_loss_matches_hand_computation():
    # P10: y - q = 5, 0, 1, 5 (all under-forecast): 0.1 * 11 / 4
    assert pinball_loss(ACTUAL, P10, 0.1) == pytest.approx(0.275)
    # P50: y - q = 2, -2, 0, -5: half the absolute error
    assert pinball_loss(ACTUAL, P50, 0.5) == pytest.approx(1.125)
    # P90: y - q = -2, -3, -4, 1: 0.1 * (2 + 3 + 4) + 0.9 * 1, over 4
    assert pinball_loss(ACTUAL, P90, 0.9) == pytest.approx(0.45)


def test_coverage_shares_match_hand_computation():
    assert share_below(ACTUAL, P10) == 0.0  # no actual strictly under its P10
    assert share_at_or_below(ACTUAL, P10) == 0.25  # the zero sits exactly on a P10 of zero
    assert share_below(ACTUAL, P90) == 0.75  # 20 is above its P90 of 19
    assert interval_coverage(ACTUAL, P10, P90) == 0.75


def test_backtest_metrics_bundle_and_missing_actuals_are_ignored():
    with_gap = np.append(ACTUAL, np.nan)
    metrics = backtest_metrics(
        with_gap, np.append(P10, 1.0), np.append(P50, 1.0), np.append(P90, 1.0), scale=7 / 3, n_windows=1
    )
    assert metrics.n_points == 4
    assert metrics.mase == pytest.approx((9 / 4) / (7 / 3))
    assert metrics.pinball == pytest.approx((0.275 + 1.125 + 0.45) / 3)
    assert metrics.scaled_pinball == pytest.approx((0.275 + 1.125 + 0.45) / 3 / (7 / 3))
    assert metrics.share_below_p90 == 0.75
    assert metrics.interval_coverage == 0.75


def test_aggregate_pools_wape_and_rmse_over_points_and_averages_mase_over_series():
    first = backtest_metrics(ACTUAL, P10, P50, P90, scale=1.0, n_windows=1)  # errors 2,2,0,5 on actuals 35
    second = backtest_metrics([4.0, 4.0], [3.0, 3.0], [5.0, 3.0], [6.0, 6.0], scale=2.0, n_windows=1)  # errors 1,1
    summary = aggregate_backtests([first, second, None])
    assert summary.n_series == 2
    assert summary.n_points == 6
    assert summary.wape == pytest.approx(11 / 43)
    assert summary.rmse == pytest.approx(math.sqrt(35 / 6))
    assert summary.mean_mase == pytest.approx((9 / 4 + 1 / 2) / 2)
    # share below P90 pooled over points: 3 of 4, then 2 of 2
    assert summary.share_below_p90 == pytest.approx(5 / 6)


@pytest.mark.parametrize(
    ("demand", "expected_class", "adi", "cv2"),
    [
        # leading zeros (before launch) are not gaps: active [3,0,3,0,3,0], 3 demands in 6 periods
        ([0, 0, 3, 0, 3, 0, 3, 0], DemandClass.INTERMITTENT, 2.0, 0.0),
        ([5, 6, 5, 6], DemandClass.SMOOTH, 1.0, (0.5 / 5.5) ** 2),
        ([1, 10, 1, 10], DemandClass.ERRATIC, 1.0, (4.5 / 5.5) ** 2),
        ([1, 0, 0, 10, 0, 0], DemandClass.LUMPY, 3.0, (4.5 / 5.5) ** 2),
    ],
)
def test_adi_cv2_classification(demand, expected_class, adi, cv2):
    pattern = classify_demand(demand)
    assert pattern.demand_class == expected_class
    assert pattern.adi == pytest.approx(adi)
    assert pattern.cv2 == pytest.approx(cv2)


def test_series_without_any_demand_is_its_own_class():
    pattern = classify_demand([0, 0, 0])
    assert pattern.demand_class == DemandClass.NO_DEMAND
    assert not pattern.is_intermittent
