"""Demand forecasting engine: planted trend and seasonality recovered, routing, quantiles, new products, what-if.

Each fixture forecasts one small batch (statsforecast fits are the slow part), and several tests read it.
"""

import numpy as np
import pandas as pd
import pytest

from forecasting.engine.demand_classify import DemandClass
from forecasting.engine.demand_models import INTERMITTENT_MODEL_NAMES
from forecasting.engine.forecast import (
    ForecastConfig,
    ForecastRoute,
    SeriesInput,
    forecast_demand,
    forecast_many,
    summarize_backtests,
    what_if_price_change,
)

WEEKDAY_PROFILE = np.array([1.0, 0.9, 0.95, 1.0, 1.2, 1.5, 1.3])  # Saturday (index 5) is the busiest day


def candidates_of(method: str) -> set[str]:
    inner = method[method.index("(") + 1 : method.rindex(")")] if "(" in method else method
    return {name.split("/")[0] for name in inner.replace("(", "+").replace(")", "").split("+")}


def assert_valid_quantiles(forecast):
    assert np.all(forecast.p10 >= 0)
    assert np.all(forecast.p10 <= forecast.p50)
    assert np.all(forecast.p50 <= forecast.p90)
    assert np.all(np.isfinite(forecast.p90))


@pytest.fixture(scope="module")
def daily_trend_with_weekly_pattern():
    rng = np.random.default_rng(1)
    days = np.arange(154)
    truth = (50 + 0.3 * days) * WEEKDAY_PROFILE[days % 7]
    history = truth[:140] * rng.normal(1.0, 0.02, 140)
    return truth[140:], forecast_demand(SeriesInput(history), "D", 14)


@pytest.fixture(scope="module")
def weekly_trend_with_yearly_pattern():
    rng = np.random.default_rng(2)
    weeks = np.arange(168)
    truth = (200 + 0.5 * weeks) * (1 + 0.35 * np.sin(2 * np.pi * weeks / 52))
    history = truth[:156] * rng.normal(1.0, 0.02, 156)
    return truth[156:], forecast_demand(SeriesInput(history), "W", 12)


@pytest.fixture(scope="module")
def monthly_multiplicative_growth():
    rng = np.random.default_rng(3)
    months = np.arange(108)
    truth = 100 * 1.01**months * (1 + 0.3 * np.sin(2 * np.pi * months / 12) + 0.15 * np.cos(4 * np.pi * months / 12))
    history = truth[:96] * rng.normal(1.0, 0.02, 96)
    return truth[96:], forecast_demand(SeriesInput(history), "M", 12)


def test_daily_forecast_continues_trend_and_weekday_pattern(daily_trend_with_weekly_pattern):
    truth, forecast = daily_trend_with_weekly_pattern
    assert np.max(np.abs(forecast.p50 / truth - 1)) < 0.06
    # The growth goes on: the second forecast week sells about 7 * 0.3 * mean(profile) more per day.
    weekly_growth = forecast.p50[7:].mean() - forecast.p50[:7].mean()
    assert weekly_growth == pytest.approx(7 * 0.3 * WEEKDAY_PROFILE.mean(), rel=0.35)
    # History ends on day index 139 (weekday 6), so forecast day i falls on weekday i % 7: Saturday is day 5.
    assert int(np.argmax(forecast.p50[:7])) == 5
    assert forecast.route == ForecastRoute.REGULAR


def test_weekly_forecast_follows_yearly_season(weekly_trend_with_yearly_pattern):
    truth, forecast = weekly_trend_with_yearly_pattern
    assert np.max(np.abs(forecast.p50 / truth - 1)) < 0.06
    # The truth rises over these weeks (the season's upswing); the forecast must rise too, not stay flat.
    assert forecast.p50[-1] - forecast.p50[0] == pytest.approx(truth[-1] - truth[0], rel=0.3)


def test_monthly_forecast_handles_multiplicative_seasonality(monthly_multiplicative_growth):
    truth, forecast = monthly_multiplicative_growth
    assert np.max(np.abs(forecast.p50 / truth - 1)) < 0.06
    assert int(np.argmax(forecast.p50)) == int(np.argmax(truth))


def test_regular_forecasts_carry_backtests_and_a_seasonal_naive_baseline(monthly_multiplicative_growth):
    truth, forecast = monthly_multiplicative_growth
    assert forecast.backtest is not None and forecast.baseline_backtest is not None
    assert forecast.backtest.n_windows >= 3
    # On a smooth growing series the method must beat repeating last year, in the backtest and on the truth.
    assert forecast.backtest.mase < forecast.baseline_backtest.mase
    assert np.abs(forecast.p50 - truth).mean() < np.abs(forecast.baseline - truth).mean()
    assert sum(weight for _, weight in forecast.weights) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def mixed_batch():
    rng = np.random.default_rng(4)
    months = 72
    category_truth = 1000 * (1 + 0.3 * np.sin(2 * np.pi * np.arange(months + 6) / 12))
    category = category_truth[:months] * rng.normal(1.0, 0.02, months)
    launched = np.zeros(months)
    launched[-5:] = 0.1 * category[-5:]
    series = {
        "intermittent": SeriesInput(((rng.random(months) < 0.2) * rng.integers(1, 5, months)).astype(float)),
        "lumpy": SeriesInput(((rng.random(months) < 0.25) * rng.choice([1, 2, 40], months)).astype(float)),
        "smooth": SeriesInput(rng.poisson(30, months).astype(float)),
        "declining": SeriesInput(np.clip(np.linspace(60, 2, months) + rng.normal(0, 1, months), 0, None)),
        "launched_five_months_ago": SeriesInput(launched, category_history=category),
        "not_launched_yet": SeriesInput(np.zeros(months), category_history=category, category_product_count=20),
        "like_two_others": SeriesInput(np.zeros(months), similar_histories=[0.05 * category, 0.07 * category]),
        "three_sales": SeriesInput(np.array([3.0, 4.0, 5.0]), last_period_start=pd.Timestamp("2024-05-01")),
        "never_sold": SeriesInput(np.zeros(10)),
    }
    return category_truth[months:], forecast_many(series, "M", 6)


def test_intermittent_series_go_to_intermittent_methods(mixed_batch):
    _, results = mixed_batch
    for key in ("intermittent", "lumpy"):
        assert results[key].pattern.is_intermittent
        assert results[key].route == ForecastRoute.INTERMITTENT
        models = candidates_of(results[key].method) - {"snaive"}
        assert models and models <= set(INTERMITTENT_MODEL_NAMES)


def test_smooth_series_do_not_go_to_intermittent_methods(mixed_batch):
    _, results = mixed_batch
    for key in ("smooth", "declining"):
        assert results[key].pattern.demand_class == DemandClass.SMOOTH
        assert results[key].route == ForecastRoute.REGULAR
        assert not candidates_of(results[key].method) & set(INTERMITTENT_MODEL_NAMES)


def test_quantiles_are_ordered_and_never_negative(mixed_batch, daily_trend_with_weekly_pattern):
    _, results = mixed_batch
    for forecast in [*results.values(), daily_trend_with_weekly_pattern[1]]:
        assert_valid_quantiles(forecast)
    # A falling series would cross zero if its trend were extended; demand stays at or above zero.
    assert results["declining"].p10.min() >= 0


def test_new_products_are_forecast_from_their_category(mixed_batch):
    category_future, results = mixed_batch
    launched = results["launched_five_months_ago"]
    assert launched.route == ForecastRoute.NEW_PRODUCT
    assert launched.method.startswith("category_share(")
    # It sold 10% of its category since launch: its forecast is 10% of the category's future, season included.
    assert launched.p50 == pytest.approx(0.1 * category_future, rel=0.08)
    unlaunched = results["not_launched_yet"]
    assert unlaunched.p50 == pytest.approx(category_future / 20, rel=0.08)
    # Without sales the share itself is uncertain: a wider band than the product with five months of sales.
    assert np.all(unlaunched.p90 / unlaunched.p10 > launched.p90 / launched.p10)
    similar = results["like_two_others"]
    assert similar.method.startswith("similar_products(")
    assert similar.p50 == pytest.approx(0.06 * category_future, rel=0.08)


def test_very_short_and_empty_histories_get_simple_forecasts(mixed_batch):
    _, results = mixed_batch
    short = results["three_sales"]
    assert short.route == ForecastRoute.SHORT_HISTORY
    assert short.p50 == pytest.approx(np.full(6, 4.0), abs=0.51)  # the count median around a mean of 4
    assert short.period_starts[0] == pd.Timestamp("2024-06-01")
    assert short.backtest is None
    never = results["never_sold"]
    assert never.route == ForecastRoute.NO_DEMAND
    assert np.all(never.p90 == 0)


def test_backtest_quantiles_are_calibrated():
    rng = np.random.default_rng(5)
    days = np.arange(126)
    series = {}
    for product in range(30):
        level = rng.uniform(20, 200)
        expected = level * (1 + 0.002 * days) * WEEKDAY_PROFILE[(days + product) % 7]
        series[product] = SeriesInput(rng.poisson(expected * rng.gamma(20, 1 / 20, len(days))).astype(float))
    # The plain conformal band: the default widening makes up for what backtests understate on real series (regime
    # changes), which this stationary synthetic demand does not have.
    results = forecast_many(series, "D", 7, ForecastConfig(backtest_windows=8, band_widening=1.0))
    summary = summarize_backtests(results)
    assert summary.n_series == 30
    # Out-of-sample backtest windows: about 10% of actuals under P10 and 90% under P90.
    assert 0.04 <= summary.share_below_p10 <= 0.17
    assert 0.83 <= summary.share_below_p90 <= 0.96
    assert 0.68 <= summary.interval_coverage <= 0.9


def test_what_if_price_change_uses_the_estimated_elasticity():
    rng = np.random.default_rng(6)
    weeks = 80
    prices = np.where(rng.random(weeks) < 0.3, 8.0, 10.0)
    demand = rng.poisson(50 * (prices / 10.0) ** -2.0).astype(float)
    forecast = forecast_demand(SeriesInput(demand, prices=prices), "W", 4)
    assert forecast.elasticity is not None
    assert forecast.elasticity.elasticity == pytest.approx(-2.0, abs=0.3)
    cheaper = what_if_price_change(forecast, -0.10)
    factor = 0.9**forecast.elasticity.elasticity
    assert cheaper.p50 == pytest.approx(forecast.p50 * factor)
    assert cheaper.p90 == pytest.approx(forecast.p90 * factor)
    assert np.all(cheaper.p50 > forecast.p50)  # cheaper sells more
    assert what_if_price_change(forecast, 0.10, elasticity=-1.0).p50 == pytest.approx(forecast.p50 / 1.1)
