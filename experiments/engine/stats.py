"""Statistics of an online test between arms: rate intervals, the sequential test and its planned size.

The test is the mixture sequential probability ratio test (mSPRT; Johari, Pekelis and Walsh, "Always
valid inference", 2017) on the difference of two conversion rates, with the normal approximation and
a normal mixing distribution N(0, tau^2) over the difference. Its p-value is valid at every look:
staff may open the results page daily and stop as soon as p <= alpha without inflating the false
positive rate (Ville's inequality bounds the chance that 1/p ever reaches 1/alpha under no difference).

The planned sample size is the smallest n per arm at which the test, looked at once at n, detects the
planned effect with the wanted power. Earlier looks can only stop it sooner, so it is conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# The standard normal's cdf and its inverse from the standard library (to double precision): importing
# scipy.special costs every process that loads this engine -- the admin does, so every manage.py command --
# about a second at start.
_NORMAL = NormalDist()

MAX_PLANNED_PER_ARM = 10**9


def wilson_interval(successes: np.ndarray | float, trials: np.ndarray | float, confidence: float = 0.95):
    """Wilson score interval of a binomial rate; NaN where there were no trials."""
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def _pooled_variance(x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (x_a + x_b) / (n_a + n_b)
        return pooled * (1 - pooled) * (1 / n_a + 1 / n_b)


def msprt_log_likelihood_ratio(difference: np.ndarray, variance: np.ndarray, tau: float) -> np.ndarray:
    """log Lambda of the normal-mixture SPRT for an observed difference with the given variance."""
    tau2 = tau * tau
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * np.log(variance / (variance + tau2)) + difference**2 * tau2 / (2 * variance * (variance + tau2))


def always_valid_p_values(
    conversions_a: np.ndarray, exposed_a: np.ndarray, conversions_b: np.ndarray, exposed_b: np.ndarray, *, tau: float
) -> np.ndarray:
    """The always-valid p-value after each look (cumulative counts per look along the last axis).

    p_t = min(1, min over looks s <= t of 1 / Lambda_s): it never rises, and P(p_t <= alpha for some t) <= alpha
    when the arms convert alike. Looks with no variance yet (no conversions) give 1.
    """
    x_a, n_a = np.asarray(conversions_a, dtype=np.float64), np.asarray(exposed_a, dtype=np.float64)
    x_b, n_b = np.asarray(conversions_b, dtype=np.float64), np.asarray(exposed_b, dtype=np.float64)
    variance = _pooled_variance(x_a, n_a, x_b, n_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        difference = x_b / n_b - x_a / n_a
    log_lr = msprt_log_likelihood_ratio(difference, variance, tau)
    usable = (n_a > 0) & (n_b > 0) & (variance > 0) & np.isfinite(log_lr)
    p = np.where(usable, np.minimum(1.0, np.exp(-np.where(usable, log_lr, 0.0))), 1.0)
    return np.minimum.accumulate(p, axis=-1)


def msprt_boundary_z(variance: float | np.ndarray, tau: float, alpha: float):
    """|z| at or beyond which the mSPRT rejects, for a difference estimated with this variance."""
    tau2 = tau * tau
    v = np.asarray(variance, dtype=np.float64)
    return np.sqrt((v + tau2) / tau2 * (2 * np.log(1 / alpha) + np.log((v + tau2) / v)))


def _power_at(n: int, baseline: float, treated: float, tau: float, alpha: float) -> float:
    mean = (baseline + treated) / 2
    null_sd = np.sqrt(2 * mean * (1 - mean) / n)
    alt_sd = np.sqrt((baseline * (1 - baseline) + treated * (1 - treated)) / n)
    critical = float(msprt_boundary_z(null_sd**2, tau, alpha)) * null_sd
    effect = treated - baseline
    return 1.0 - _NORMAL.cdf(float((critical - effect) / alt_sd)) + _NORMAL.cdf(float((-critical - effect) / alt_sd))


def planned_sample_size(*, baseline: float, relative_effect: float, alpha: float, power: float, tau: float) -> int:
    """Subjects per arm for the mSPRT, looked at once, to find `baseline * (1 + relative_effect)` with `power`."""
    treated = baseline * (1 + relative_effect)
    if not (0 < baseline < 1 and 0 < treated < 1 and relative_effect != 0 and 0 < alpha < 1 and 0 < power < 1):
        raise ValueError("baseline and the treated rate must lie in (0, 1), the effect must be non-zero")
    high = 16
    while _power_at(high, baseline, treated, tau, alpha) < power:
        high *= 2
        if high > MAX_PLANNED_PER_ARM:
            raise ValueError("the planned effect is too small to detect with fewer than a billion subjects per arm")
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if _power_at(middle, baseline, treated, tau, alpha) >= power:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class TestPlan:
    baseline: float  # expected conversion rate of the control arm
    relative_effect: float  # smallest relative lift worth finding (0.10 = +10%)
    alpha: float  # false-positive rate of the whole experiment
    power: float
    comparisons: int  # treatment arms, each compared with control
    alpha_per_comparison: float  # Bonferroni: alpha / comparisons
    tau: float  # mixing scale of the mSPRT: the planned absolute difference
    per_arm: int  # planned subjects per arm


def plan_test(*, baseline: float, relative_effect: float, alpha: float, power: float, arms: int) -> TestPlan:
    comparisons = max(1, arms - 1)
    alpha_each = alpha / comparisons
    tau = abs(baseline * relative_effect)
    per_arm = planned_sample_size(
        baseline=baseline, relative_effect=relative_effect, alpha=alpha_each, power=power, tau=tau
    )
    return TestPlan(baseline, relative_effect, alpha, power, comparisons, alpha_each, tau, per_arm)


def simulate_sequential(
    *,
    rate_a: float,
    rate_b: float,
    per_arm: int,
    looks: int,
    runs: int,
    alpha: float,
    tau: float,
    rng: np.random.Generator,
    test: str = "msprt",
) -> np.ndarray:
    """Simulate `runs` experiments looked at `looks` times up to `per_arm` subjects per arm; True where one
    stopped with a significant difference. `test="naive_z"` repeats a fixed-horizon two-sided z-test at every
    look instead (the wrong way to peek), to show what the sequential test protects against."""
    step = np.full(looks, per_arm // looks, dtype=np.int64)
    step[: per_arm % looks] += 1
    exposed = np.broadcast_to(np.cumsum(step), (runs, looks))
    conv_a = np.cumsum(rng.binomial(step, rate_a, size=(runs, looks)), axis=1)
    conv_b = np.cumsum(rng.binomial(step, rate_b, size=(runs, looks)), axis=1)
    if test == "msprt":
        p = always_valid_p_values(conv_a, exposed, conv_b, exposed, tau=tau)
        return np.asarray((p <= alpha).any(axis=1))
    if test == "naive_z":
        variance = _pooled_variance(conv_a, exposed, conv_b, exposed)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (conv_b - conv_a) / exposed / np.sqrt(variance)
        return (np.nan_to_num(np.abs(z)) >= _NORMAL.inv_cdf(1 - alpha / 2)).any(axis=1)
    raise ValueError(f"unknown test {test!r}; use 'msprt' or 'naive_z'")
