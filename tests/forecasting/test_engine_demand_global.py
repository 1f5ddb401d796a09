"""The store's global model (gradient boosting over every product): it wins where products share a pattern their own
histories cannot show, and is served only where its backtest beats the local combination's over the same windows."""

import numpy as np
import pytest

from forecasting.engine.demand_global import GLOBAL_METHOD
from forecasting.engine.forecast import ForecastConfig, SeriesInput, forecast_many, global_model_paths

WEEKS = 156
HORIZON = 12


def _store_with_a_shared_season(seed: int) -> tuple[dict[str, SeriesInput], dict[str, np.ndarray]]:
    """Three years of a store whose products all follow one strong yearly season: 40 products sold throughout and 30
    launched 40-70 weeks ago (too young to show a season of their own; no category history to borrow one from)."""
    rng = np.random.default_rng(seed)
    weeks = np.arange(WEEKS + HORIZON)
    season = 1 + 0.6 * np.sin(2 * np.pi * (weeks - 20) / 52)
    series, truth = {}, {}
    for k in range(70):
        level = float(np.exp(rng.uniform(np.log(20), np.log(200))))
        expected = level * season
        demand = rng.poisson(expected[:WEEKS]).astype(float)
        if k >= 40:
            demand[: WEEKS - int(rng.integers(40, 71))] = 0.0
        key = f"{'old' if k < 40 else 'young'}-{k:02d}"
        series[key] = SeriesInput(demand)
        truth[key] = expected[WEEKS:]
    return series, truth


def _store_of_unrelated_products(seed: int) -> dict[str, SeriesInput]:
    """Three years of products that share nothing: each its own yearly pattern, phase and trend."""
    rng = np.random.default_rng(seed)
    weeks = np.arange(WEEKS)
    series = {}
    for k in range(40):
        own = 1 + rng.uniform(0.2, 0.7) * np.sin(2 * np.pi * weeks / 52 + rng.uniform(0, 2 * np.pi))
        trend = np.exp(rng.uniform(-0.004, 0.004) * weeks)
        series[f"p{k:02d}"] = SeriesInput(rng.poisson(rng.uniform(20, 200) * own * trend).astype(float))
    return series


def _both_ways(series: dict[str, SeriesInput]) -> tuple[dict, dict]:
    paths = global_model_paths(series, "W", HORIZON)
    assert paths is not None and set(paths) == set(series)
    with_global = forecast_many(series, "W", HORIZON, global_paths=paths)
    local_only = forecast_many(series, "W", HORIZON)
    return with_global, local_only


@pytest.fixture(scope="module")
def shared_season():
    series, truth = _store_with_a_shared_season(21)
    return (*_both_ways(series), truth)


def test_the_global_model_learns_a_season_young_products_cannot_show(shared_season):
    with_global, local_only, truth = shared_season
    young = [key for key in truth if key.startswith("young")]
    served = [key for key in young if with_global[key].method == GLOBAL_METHOD]
    assert len(served) >= 0.7 * len(young), [with_global[k].method for k in young]

    def error(forecasts, key):
        return float(np.mean(np.abs(forecasts[key].p50 - truth[key])) / truth[key].mean())

    # On the weeks nobody saw, the young products' forecasts are clearly better with the global model.
    assert np.median([error(with_global, k) for k in young]) < 0.7 * np.median([error(local_only, k) for k in young])
    for key in served:
        forecast = with_global[key]
        assert "Global model served" in " ".join(forecast.notes)
        assert np.all(forecast.p10 <= forecast.p50) and np.all(forecast.p50 <= forecast.p90)
        assert np.any(forecast.p10 < forecast.p50) and np.any(forecast.p90 > forecast.p50)


@pytest.mark.parametrize("store", ["shared_season", "unrelated"])
def test_the_global_model_is_served_only_where_its_backtest_wins(store, shared_season):
    with_global, local_only = (
        shared_season[:2] if store == "shared_season" else _both_ways(_store_of_unrelated_products(22))
    )
    compared = 0
    for key, forecast in with_global.items():
        local = local_only[key]
        if forecast.global_backtest is None:
            assert forecast.method == local.method
            continue
        compared += 1
        assert local.backtest is not None and forecast.backtest is not None
        if forecast.method == GLOBAL_METHOD:
            # Same windows, same actuals: it erred less there than the local combination.
            assert forecast.backtest.mase == pytest.approx(forecast.global_backtest.mase)
            assert forecast.global_backtest.mase < local.backtest.mase
        else:
            assert forecast.global_backtest.mase >= local.backtest.mase
            assert forecast.method == local.method
            assert forecast.p50 == pytest.approx(local.p50)
    assert compared == len(with_global)


def test_no_global_model_for_monthly_stores_or_when_switched_off():
    rng = np.random.default_rng(23)
    series = {k: SeriesInput(rng.poisson(50, 60).astype(float)) for k in range(5)}
    assert global_model_paths(series, "M", 12) is None
    weekly = {k: SeriesInput(rng.poisson(50, WEEKS).astype(float)) for k in range(5)}
    assert global_model_paths(weekly, "W", HORIZON, ForecastConfig(global_model=False)) is None
