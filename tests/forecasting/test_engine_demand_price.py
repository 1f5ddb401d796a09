"""Price elasticity: planted elasticities are recovered, seasonality does not leak into them, thin data is shrunk."""

import numpy as np
import pytest

from forecasting.engine.demand_price import (
    ElasticitySource,
    estimate_elasticities,
    estimate_price_elasticity,
    price_change_multiplier,
)

WEEKS = 156


def planted_sales(elasticity, prices, rng, base=40.0, seasonal_amplitude=0.4):
    """Poisson weekly sales with a yearly season and a constant price elasticity."""
    weeks = np.arange(len(prices))
    season = 1.0 + seasonal_amplitude * np.sin(2 * np.pi * weeks / 52)
    expected = base * season * (prices / prices.mean()) ** elasticity
    return rng.poisson(expected).astype(float)


def random_prices(rng, n=WEEKS, regular=10.0):
    """A regular price with occasional promotions of 10-30% off."""
    prices = np.full(n, regular)
    promoted = rng.random(n) < 0.3
    prices[promoted] *= 1 - rng.uniform(0.1, 0.3, promoted.sum())
    return prices


def test_planted_elasticity_is_recovered():
    rng = np.random.default_rng(7)
    prices = random_prices(rng)
    estimate = estimate_price_elasticity(planted_sales(-1.8, prices, rng), prices, season_length=52)
    assert estimate.source == ElasticitySource.OWN
    assert estimate.elasticity == pytest.approx(-1.8, abs=0.25)
    assert 0 < estimate.std_error < 0.3


def test_promotions_timed_with_the_high_season_do_not_inflate_the_elasticity():
    rng = np.random.default_rng(11)
    weeks = np.arange(WEEKS)
    high_season = np.sin(2 * np.pi * weeks / 52) > 0.3
    # The store runs its promotions in the high season, so price and season move together.
    prices = np.where(high_season & (rng.random(WEEKS) < 0.7), 8.0, 10.0) * rng.uniform(0.97, 1.03, WEEKS)
    sales = planted_sales(-1.0, prices, rng, seasonal_amplitude=0.6)
    estimate = estimate_price_elasticity(sales, prices, season_length=52)
    naive_slope = np.polyfit(np.log(prices), np.log(sales + 1.0), 1)[0]  # no seasonal control
    assert naive_slope < -2.0  # the confounded regression would badly overstate the effect
    # Unbiased once trend and season are controlled: within three standard errors of the truth.
    assert abs(estimate.elasticity - -1.0) < 3 * estimate.std_error
    assert estimate.std_error < 0.25


def test_thin_or_flat_price_data_borrows_from_the_category():
    rng = np.random.default_rng(3)
    items = {}
    for product in range(6):
        prices = random_prices(rng)
        items[f"p{product}"] = (planted_sales(-1.5, prices, rng), prices)
    flat_prices = np.full(WEEKS, 10.0)
    items["never_discounted"] = (planted_sales(-1.5, flat_prices, rng), flat_prices)
    short_prices = random_prices(rng, n=12)
    items["new_and_noisy"] = (planted_sales(-1.5, short_prices, rng, base=3.0), short_prices)

    groups = dict.fromkeys(items, "kitchen")
    estimates = estimate_elasticities(items, groups, season_length=52)

    assert estimates["never_discounted"].source == ElasticitySource.GROUP
    assert estimates["never_discounted"].elasticity == pytest.approx(-1.5, abs=0.25)
    noisy = estimates["new_and_noisy"]
    assert noisy.source == ElasticitySource.SHRUNK
    category = estimates["never_discounted"].elasticity
    assert abs(noisy.elasticity - category) < abs(noisy.own_elasticity - category)
    assert noisy.std_error < noisy.own_std_error
    for product in range(6):
        assert estimates[f"p{product}"].elasticity == pytest.approx(-1.5, abs=0.35)


def test_price_change_multiplier():
    assert price_change_multiplier(-2.0, -0.10) == pytest.approx(0.9**-2.0)
    assert price_change_multiplier(-1.0, 0.25) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        price_change_multiplier(-1.0, -1.0)


# A product launched two years into the data, sold a few units in 5 weeks while its price moved: before the fix
# the zero-led history made the fit's matrix singular (LinAlgError), which took the whole forecast batch down.
LAUNCHED_LATE_SALES = np.r_[np.zeros(104), [2.0, 0.0, 1.0, 0.0, 1.0]]
LAUNCHED_LATE_PRICES = np.r_[np.full(104, np.nan), [10.0, 10.0, 8.0, 8.0, 8.0]]


def test_a_short_zero_led_history_gets_not_enough_data_instead_of_a_crash():
    estimate = estimate_price_elasticity(LAUNCHED_LATE_SALES, LAUNCHED_LATE_PRICES, season_length=52)
    assert estimate.source == ElasticitySource.NOT_ENOUGH_DATA
    assert np.isnan(estimate.elasticity)
    assert estimate.n_periods == 5  # only the weeks since the first sale count


def test_a_short_zero_led_history_in_a_category_takes_the_category_figure():
    rng = np.random.default_rng(5)
    items = {}
    for product in range(4):
        prices = random_prices(rng, n=109)
        items[f"p{product}"] = (planted_sales(-1.5, prices, rng), prices)
    items["launched_late"] = (LAUNCHED_LATE_SALES, LAUNCHED_LATE_PRICES)
    estimates = estimate_elasticities(items, dict.fromkeys(items, "kitchen"), season_length=52)
    late = estimates["launched_late"]
    assert late.source == ElasticitySource.GROUP
    assert late.elasticity == pytest.approx(-1.5, abs=0.35)
    assert np.isnan(late.own_elasticity)


def test_forecasting_with_prices_survives_a_short_zero_led_history():
    from forecasting.engine.forecast import SeriesInput, forecast_many

    rng = np.random.default_rng(9)
    regular_prices = random_prices(rng, n=109)
    series = {
        "launched_late": SeriesInput(LAUNCHED_LATE_SALES, prices=LAUNCHED_LATE_PRICES),
        "regular": SeriesInput(planted_sales(-1.0, regular_prices, rng), prices=regular_prices),
    }
    forecasts = forecast_many(series, "W", 4)
    assert forecasts["launched_late"].elasticity.source == ElasticitySource.NOT_ENOUGH_DATA
    assert forecasts["regular"].elasticity.source == ElasticitySource.OWN
    assert (forecasts["launched_late"].p50 >= 0).all()
