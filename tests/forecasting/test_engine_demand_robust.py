"""Demand forecasting engine, robust model choice: growth the models must follow, growth the guard must rein in,
products with a year of their own sales, and the seasonal naive served where it wins its backtest."""

import numpy as np
import pytest

from forecasting.engine import forecast as engine
from forecasting.engine.demand_guard import rein_in
from forecasting.engine.demand_models import SEASONAL_NAIVE
from forecasting.engine.forecast import ForecastConfig, ForecastRoute, SeriesInput, forecast_demand, forecast_many


def test_a_growing_series_with_multiplicative_seasonality_is_forecast_within_15_percent():
    rng = np.random.default_rng(11)
    months = np.arange(84)
    season = 1 + 0.5 * np.sin(2 * np.pi * months / 12) + 0.2 * np.cos(4 * np.pi * months / 12)
    truth = 200 * 1.015**months * season  # +20% a year; the season swings with the level
    history = truth[:72] * rng.normal(1.0, 0.04, 72)
    forecast = forecast_demand(SeriesInput(history), "M", 12)
    mape = float(np.mean(np.abs(forecast.p50 / truth[72:] - 1)))
    assert mape < 0.15, (forecast.method, mape)
    # The held-out truth sits inside the band most of the time, not once in twelve months.
    assert np.mean((truth[72:] >= forecast.p10) & (truth[72:] <= forecast.p90)) >= 0.6


def test_the_guard_reins_in_an_exploding_path_and_leaves_a_plausible_one():
    rng = np.random.default_rng(12)
    months = np.arange(60)
    season = 1 + 0.3 * np.sin(2 * np.pi * months / 12)
    history = 100 * 1.004**months * season * rng.normal(1.0, 0.02, 60)  # about +5% a year
    last_year = history[-12:]
    plausible = last_year * 1.05
    exploding = last_year * np.linspace(1.5, 6.0, 12)  # a member whose trend ran away
    reined, changed = rein_in(np.stack([plausible, exploding]), history, 12)
    assert changed.tolist() == [False, True]
    assert reined[0] == pytest.approx(plausible)
    # Its year may grow at most a little beyond the fastest year-on-year growth of the history (well under 30%).
    assert reined[1].sum() <= 1.3 * last_year.sum()
    # Only the level is reined in: the path keeps its own shape.
    assert reined[1] / exploding == pytest.approx(np.full(12, reined[1][0] / exploding[0]))


def test_an_exploding_member_does_not_reach_the_served_forecast(monkeypatch):
    rng = np.random.default_rng(13)
    months = np.arange(72)
    history = 100 * 1.004**months * (1 + 0.3 * np.sin(2 * np.pi * months / 12)) * rng.normal(1.0, 0.03, 72)
    real_run = engine.run_candidates

    def one_member_explodes(*args, **kwargs):  # type: ignore[no-untyped-def]
        run = real_run(*args, **kwargs)
        ramp = np.linspace(1.5, 6.0, run.future.shape[-1])
        run.future[:, 0] *= ramp  # the first model's future runs away; its backtest looked fine
        return run

    monkeypatch.setattr(engine, "run_candidates", one_member_explodes)
    only_that_member = ForecastConfig(
        regular_models=("ets",),
        transforms=("raw",),
        combination="median",  # the models' median: here the one model, without the seasonal naive beside
        drop_losers=False,
        serve_naive_when_better=False,
    )
    guarded = forecast_demand(SeriesInput(history), "M", 12, only_that_member)
    unguarded = forecast_demand(
        SeriesInput(history), "M", 12, ForecastConfig(**{**only_that_member.__dict__, "guard_slack": None})
    )
    last_year = history[-12:].sum()
    assert unguarded.p50.sum() > 2.0 * last_year  # the member did explode
    assert guarded.p50.sum() < 1.3 * last_year
    assert guarded.p90.sum() < 2.5 * last_year  # the band follows the reined-in P50


def test_a_year_old_weekly_product_is_forecast_from_its_own_history():
    rng = np.random.default_rng(14)
    weeks = 104
    category = rng.poisson(400, weeks).astype(float)
    year_old = np.zeros(weeks)
    year_old[-52:] = rng.poisson(40, 52)  # launched a year ago, selling a steady 40 a week (a tenth of its category)
    half_year_old = np.zeros(weeks)
    half_year_old[-27:] = rng.poisson(15, 27)
    launched = np.zeros(weeks)
    launched[-6:] = rng.poisson(12, 6)
    results = forecast_many(
        {
            "year_old": SeriesInput(year_old, category_history=category, category_product_count=40),
            "half_year_old": SeriesInput(half_year_old, category_history=category, category_product_count=40),
            "launched": SeriesInput(launched, category_history=category, category_product_count=40),
        },
        "W",
        12,
    )
    for key, level in (("year_old", 40), ("half_year_old", 15)):
        assert results[key].route == ForecastRoute.REGULAR, key
        assert not results[key].method.startswith("category_share"), results[key].method
        assert results[key].backtest is not None
        # Its own level, not 1/40 of its category (10 a week).
        assert results[key].p50.mean() == pytest.approx(level, rel=0.25)
    assert results["launched"].route == ForecastRoute.NEW_PRODUCT


def test_a_product_younger_than_two_years_borrows_its_categorys_season():
    rng = np.random.default_rng(16)
    weeks = np.arange(168)
    season = 1 + 0.4 * np.sin(2 * np.pi * weeks / 52)
    category = rng.poisson(2000 * season[:156]).astype(float)
    product = np.zeros(156)
    product[-40:] = rng.poisson(60 * season[116:156])  # 40 weeks of its own sales, the same yearly swing
    forecast = forecast_many(
        {"p": SeriesInput(product, category_history=category, category_product_count=30)}, "W", 12
    )["p"]
    truth = 60 * season[156:]
    assert forecast.route == ForecastRoute.REGULAR and "category season" in forecast.method
    assert float(np.mean(np.abs(forecast.p50 / truth - 1))) < 0.15
    # The season's turn shows in the forecast: it follows the truth's direction over the 12 weeks.
    assert np.sign(forecast.p50[-1] - forecast.p50[0]) == np.sign(truth[-1] - truth[0])


def test_the_seasonal_naive_is_served_wherever_it_wins_the_backtest():
    rng = np.random.default_rng(15)
    months = np.arange(96)
    pattern = rng.uniform(50, 150, 12)
    series = {
        # A fixed, jagged yearly pattern with small noise: repeating last year is hard to beat.
        "jagged": SeriesInput(np.tile(pattern, 8) * rng.normal(1.0, 0.01, 96)),
        "random_walk": SeriesInput(100 + np.cumsum(rng.normal(0, 5, 96)).clip(-90, None)),
        "trend": SeriesInput(50 + 2.0 * months + rng.normal(0, 3, 96)),
        "seasonal_shift": SeriesInput(
            np.where(months < 60, 1.0, 1.6) * (100 + 30 * np.sin(months)) + rng.normal(0, 2, 96)
        ),
    }
    results = forecast_many(series, "M", 12, ForecastConfig(serve_naive_when_better=True))
    served_naive = 0
    for key, forecast in results.items():
        assert forecast.backtest is not None and forecast.baseline_backtest is not None, key
        assert forecast.backtest.mase <= forecast.baseline_backtest.mase + 1e-9, (key, forecast.method)
        if forecast.method == SEASONAL_NAIVE:
            served_naive += 1
            assert forecast.p50 == pytest.approx(forecast.baseline)
            assert "Seasonal naive served" in " ".join(forecast.notes)
    assert served_naive >= 1
