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
