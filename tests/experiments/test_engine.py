"""The experiments engine: assignment by hash, and the sequential test checked by simulation (no Django)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from experiments.engine import (
    assign,
    assign_one,
    plan_test,
    planned_sample_size,
    simulate_sequential,
    wilson_interval,
)

IDS = [f"c:{i}" for i in range(100_000)]


@pytest.mark.parametrize("shares", [[50, 50], [70, 20, 10], [34, 33, 33]])
def test_shares_within_two_points_over_100k_ids(shares) -> None:
    arms = assign("salt-1", IDS, shares)
    observed = np.bincount(arms, minlength=len(shares)) / len(IDS)
    expected = np.asarray(shares) / sum(shares)
    assert np.abs(observed - expected).max() <= 0.02, observed


def test_assignment_is_sticky_and_the_same_on_the_serving_path() -> None:
    first = assign("salt-1", IDS, [50, 30, 20])
    assert (assign("salt-1", IDS, [50, 30, 20]) == first).all()  # reproducible: a pure function of the key
    sample = range(0, 100_000, 97)
    assert [assign_one("salt-1", IDS[i], [50, 30, 20]) for i in sample] == [int(first[i]) for i in sample]


def test_two_experiments_split_independently() -> None:
    a = assign("experiment-a", IDS, [50, 50])
    b = assign("experiment-b", IDS, [50, 50])
    # Independent splits agree on about half of the subjects; a shared hash would agree on all.
    assert abs((a == b).mean() - 0.5) < 0.01


def test_bad_shares_are_refused() -> None:
    with pytest.raises(ValueError, match="shares"):
        assign("s", IDS[:3], [])
    with pytest.raises(ValueError, match="shares"):
        assign("s", IDS[:3], [0, 0])


def test_wilson_interval_covers_the_true_rate_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(3)
    rate, n = 0.04, 2_000
    successes = rng.binomial(n, rate, size=4_000)
    low, high = wilson_interval(successes, np.full(4_000, n))
    coverage = ((low <= rate) & (rate <= high)).mean()
    assert 0.935 <= coverage <= 0.965
    assert np.isnan(wilson_interval(0, 0)[0])


def test_planned_size_exceeds_the_fixed_horizon_size_but_not_by_much() -> None:
    # Oracle: the textbook fixed-horizon size for 5% -> 5.5% at alpha 0.05, power 0.8. A test that may be
    # stopped at any look pays for that freedom with more subjects, but within a small factor.
    p0, p1 = 0.05, 0.055
    fixed = (norm.ppf(0.975) + norm.ppf(0.8)) ** 2 * (p0 * (1 - p0) + p1 * (1 - p1)) / (p1 - p0) ** 2
    planned = planned_sample_size(baseline=p0, relative_effect=0.10, alpha=0.05, power=0.8, tau=p1 - p0)
    assert fixed < planned < 3 * fixed


def test_planted_ten_percent_lift_is_found_at_the_planned_sample_size() -> None:
    plan = plan_test(baseline=0.05, relative_effect=0.10, alpha=0.05, power=0.8, arms=2)
    runs = 1_000
    found = simulate_sequential(
        rate_a=0.05,
        rate_b=0.055,
        per_arm=plan.per_arm,
        looks=40,
        runs=runs,
        alpha=plan.alpha_per_comparison,
        tau=plan.tau,
        rng=np.random.default_rng(11),
    )
    # At least the planned power, less three Monte Carlo standard errors.
    assert found.mean() >= plan.power - 3 * np.sqrt(plan.power * (1 - plan.power) / runs)


def test_a_a_test_finds_nothing_at_the_stated_false_positive_rate_despite_peeking() -> None:
    plan = plan_test(baseline=0.05, relative_effect=0.10, alpha=0.05, power=0.8, arms=2)
    runs = 2_000
    args = dict(rate_a=0.05, rate_b=0.05, per_arm=plan.per_arm, looks=40, runs=runs, alpha=0.05, tau=plan.tau)
    sequential = simulate_sequential(**args, rng=np.random.default_rng(5))
    assert sequential.mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs)
    # The same 40 looks with a fixed-horizon z-test: the peeking the sequential test protects against.
    naive = simulate_sequential(**args, rng=np.random.default_rng(5), test="naive_z")
    assert naive.mean() > 0.15


def test_multi_arm_plans_split_the_false_positive_rate() -> None:
    two = plan_test(baseline=0.05, relative_effect=0.10, alpha=0.05, power=0.8, arms=2)
    three = plan_test(baseline=0.05, relative_effect=0.10, alpha=0.05, power=0.8, arms=3)
    assert three.alpha_per_comparison == pytest.approx(0.025)
    assert three.per_arm > two.per_arm


def test_an_impossible_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="lie in"):
        plan_test(baseline=0.95, relative_effect=0.10, alpha=0.05, power=0.8, arms=2)
