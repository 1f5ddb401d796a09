"""Demand over the protection interval, built from per-period forecast quantiles (P10, P50, P90).

Three steps, all vectorized over products:

1. **Per period**, a distribution is matched to the three quantiles and reduced to its mean and variance:
   ``gamma`` (default; non-negative and right-skewed, shape chosen so that its (P90 - P10) / P50 spread equals the
   forecast's, scale so that its median equals P50) or ``normal`` (mean by Swanson's 30/40/30 rule, which is P50
   for symmetric quantiles, and sd = (P90 - P10) / (2 z_0.9), exact for normal quantiles). Quantiles more skewed
   than an exponential distribution's (gamma shape < 1, typical of intermittent demand, whose P50 is often zero or
   tiny) use Swanson's moments in both families: such quantiles come from a mass at zero that no gamma has, and a
   gamma forced through them has an absurdly large mean (its median tends to zero faster than its P90).
2. **Over an interval** of ``tau`` periods starting now, means and variances add up (periods are treated as
   independent); fractional intervals interpolate linearly inside a period; intervals longer than the forecast
   horizon repeat the last forecast period.
3. **Lead-time variability**: the interval is ``lead time + review period`` with a normally distributed lead time
   (mean, std in periods, truncated at zero). It is integrated with a fixed quadrature of equally likely lead times,
   giving the exact mean and variance of the mixture. For a stationary forecast this reproduces the textbook
   ``E[L] m`` and ``E[L] v + m^2 Var[L]``.

The interval demand is then a gamma (default) or normal distribution with that mean and variance, and
:class:`DemandDistribution` gives its quantiles, expected shortage E[(D - y)+] and expected sales E[min(D, y)].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special, stats

DistributionFamily = Literal["gamma", "normal"]

Z_90 = float(stats.norm.ppf(0.9))
# Gamma shapes beyond this are numerically a normal distribution; below the minimum a gamma is all mass at zero.
_GAMMA_MIN_SHAPE = 1e-2
_GAMMA_MAX_SHAPE = 1e6
LEAD_TIME_NODES = 16
# Per-period quantiles more skewed than an exponential's are not fitted with a gamma (see the module docstring).
_GAMMA_FIT_MIN_SHAPE = 1.0


@functools.lru_cache(maxsize=1)
def _gamma_spread_table() -> tuple[np.ndarray, np.ndarray]:
    """Return (log spread, log shape) with spread = (q90 - q10) / q50 of a unit-scale gamma, increasing spread."""
    shapes = np.logspace(np.log10(_GAMMA_MIN_SHAPE), np.log10(_GAMMA_MAX_SHAPE), 600)
    q10, q50, q90 = (special.gammaincinv(shapes, p) for p in (0.1, 0.5, 0.9))
    spread = (q90 - q10) / q50
    # Spread falls as the shape grows; np.interp wants increasing x.
    return np.log(spread[::-1]), np.log(shapes[::-1])


def gamma_shape_for_spread(spread: np.ndarray) -> np.ndarray:
    """Gamma shape whose (P90 - P10) / P50 equals ``spread`` (clipped to the tabulated range)."""
    log_spread, log_shape = _gamma_spread_table()
    with np.errstate(divide="ignore"):
        return np.exp(np.interp(np.log(np.maximum(spread, 1e-300)), log_spread, log_shape))


def period_moments_from_quantiles(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, family: DistributionFamily = "gamma"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each period's demand from its P10, P50, P90 (arrays of any equal shape)."""
    p10, p50, p90 = (np.asarray(a, dtype=float) for a in (p10, p50, p90))
    swanson_mean = 0.3 * p10 + 0.4 * p50 + 0.3 * p90
    normal_var = ((p90 - p10) / (2.0 * Z_90)) ** 2
    if family == "normal":
        return swanson_mean, normal_var
    if family != "gamma":
        raise ValueError(f"unknown distribution family {family!r}; use 'gamma' or 'normal'")
    positive_median = p50 > 0
    safe_median = np.where(positive_median, p50, 1.0)
    shape = gamma_shape_for_spread((p90 - p10) / safe_median)
    scale = safe_median / special.gammaincinv(shape, 0.5)
    gamma_like = positive_median & (shape >= _GAMMA_FIT_MIN_SHAPE)
    mean = np.where(gamma_like, shape * scale, swanson_mean)
    var = np.where(gamma_like, shape * scale**2, normal_var)
    return mean, var


def _cumulative_at(cumulative: np.ndarray, last_period: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Value of a per-product cumulative sum at fractional period counts ``tau`` (products x nodes)."""
    horizon = cumulative.shape[1] - 1
    clipped = np.clip(tau, 0.0, float(horizon))
    whole = (
        np.minimum(np.floor(clipped).astype(np.int64), horizon - 1)
        if horizon > 0
        else np.zeros_like(clipped, dtype=np.int64)
    )
    fraction = clipped - whole
    below = np.take_along_axis(cumulative, whole, axis=1)
    above = np.take_along_axis(cumulative, whole + 1, axis=1)
    inside = below + fraction * (above - below)
    beyond = np.maximum(tau - horizon, 0.0) * last_period[:, None]  # repeat the last forecast period
    return inside + beyond


@dataclass(frozen=True)
class CumulativeDemand:
    """Running totals of the per-period demand means and variances, to read the demand of any interval.

    Periods are independent, so an interval's mean and variance are differences of running totals; fractional
    bounds interpolate inside a period and bounds past the horizon repeat the last forecast period.
    """

    mean: np.ndarray  # (products x horizon + 1), starting at 0
    var: np.ndarray
    last_mean: np.ndarray  # (products,) the last forecast period, repeated beyond the horizon
    last_var: np.ndarray

    @classmethod
    def from_periods(cls, period_mean: np.ndarray, period_var: np.ndarray) -> CumulativeDemand:
        period_mean = np.atleast_2d(np.asarray(period_mean, dtype=float))
        period_var = np.atleast_2d(np.asarray(period_var, dtype=float))
        zero = np.zeros((period_mean.shape[0], 1))
        return cls(
            mean=np.hstack([zero, np.cumsum(period_mean, axis=1)]),
            var=np.hstack([zero, np.cumsum(period_var, axis=1)]),
            last_mean=period_mean[:, -1],
            last_var=period_var[:, -1],
        )

    def through(self, tau: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the demand of periods [0, tau), tau shaped (products x k); ``rows`` picks products."""
        if rows is None:
            return (_cumulative_at(self.mean, self.last_mean, tau), _cumulative_at(self.var, self.last_var, tau))
        return (
            _cumulative_at(self.mean[rows], self.last_mean[rows], tau),
            _cumulative_at(self.var[rows], self.last_var[rows], tau),
        )

    def between(
        self, start: np.ndarray, end: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the demand of periods [start, end), both shaped (products x k)."""
        end_mean, end_var = self.through(end, rows)
        start_mean, start_var = self.through(start, rows)
        return np.maximum(end_mean - start_mean, 0.0), np.maximum(end_var - start_var, 0.0)


def lead_time_nodes(lead_time_mean: np.ndarray, lead_time_std: np.ndarray, nodes: int = LEAD_TIME_NODES) -> np.ndarray:
    """Equally likely lead times (products x nodes) of a Normal(mean, std) lead time, truncated at zero.

    The nodes sit at the midpoints of ``nodes`` probability bins, rescaled so that their variance is exactly the
    lead time's (before truncation).
    """
    standard_nodes = stats.norm.ppf((np.arange(nodes) + 0.5) / nodes)
    if nodes > 1:
        standard_nodes /= np.sqrt(np.mean(standard_nodes**2))
    return np.maximum(
        np.asarray(lead_time_mean, dtype=float)[:, None]
        + np.asarray(lead_time_std, dtype=float)[:, None] * standard_nodes[None, :],
        0.0,
    )


def interval_moments(
    period_mean: np.ndarray,
    period_var: np.ndarray,
    fixed_periods: float | np.ndarray,
    lead_time_mean: np.ndarray,
    lead_time_std: np.ndarray,
    nodes: int = LEAD_TIME_NODES,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of demand over ``lead time + fixed_periods`` periods from now, per product.

    ``period_mean``/``period_var`` are (products x horizon); the lead time is Normal(mean, std) truncated at zero.
    """
    cumulative = CumulativeDemand.from_periods(period_mean, period_var)
    n_products = cumulative.mean.shape[0]
    lead_time_mean = np.broadcast_to(np.asarray(lead_time_mean, dtype=float), (n_products,))
    lead_time_std = np.broadcast_to(np.asarray(lead_time_std, dtype=float), (n_products,))
    fixed = np.broadcast_to(np.asarray(fixed_periods, dtype=float), (n_products,))
    tau = lead_time_nodes(lead_time_mean, lead_time_std, nodes) + fixed[:, None]
    node_mean, node_var = cumulative.through(tau)
    mean = node_mean.mean(axis=1)
    # Law of total variance over the lead-time mixture.
    var = (node_var + node_mean**2).mean(axis=1) - mean**2
    return mean, np.maximum(var, 0.0)


@dataclass(frozen=True)
class DemandDistribution:
    """Demand over an interval for many products: a gamma or normal with the given mean and std.

    Methods take levels shaped like ``mean`` (one per product) or (products x k) for k levels per product.
    """

    mean: np.ndarray
    std: np.ndarray
    family: DistributionFamily = "gamma"

    def _broadcast(self, values: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        levels = np.asarray(values, dtype=float)
        mean, std = np.asarray(self.mean, dtype=float), np.asarray(self.std, dtype=float)
        if levels.ndim == mean.ndim + 1:
            mean, std = mean[..., None], std[..., None]
        levels, mean, std = np.broadcast_arrays(levels, mean, std)
        return levels, mean, std

    def _degenerate(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        # Demand known exactly (or always zero): no spread to integrate.
        return (std <= 1e-9 * np.maximum(mean, 1.0)) | (mean <= 0)

    def _gamma_parameters(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        safe_mean = np.where(mean > 0, mean, 1.0)
        safe_var = np.where(std > 0, std**2, 1.0)
        shape = np.clip(safe_mean**2 / safe_var, _GAMMA_MIN_SHAPE, _GAMMA_MAX_SHAPE)
        return shape, safe_mean / shape

    def quantile(self, probability: float | np.ndarray) -> np.ndarray:
        """Smallest level y with P(D <= y) >= probability (never negative)."""
        probability, mean, std = self._broadcast(probability)
        if self.family == "normal":
            level = mean + std * stats.norm.ppf(probability)
        else:
            shape, scale = self._gamma_parameters(mean, std)
            level = scale * special.gammaincinv(shape, probability)
        return np.maximum(np.where(self._degenerate(mean, std), np.maximum(mean, 0.0), level), 0.0)

    def cdf(self, level: np.ndarray) -> np.ndarray:
        """P(D <= level)."""
        level, mean, std = self._broadcast(level)
        if self.family == "normal":
            with np.errstate(divide="ignore", invalid="ignore"):
                value = stats.norm.cdf((level - mean) / np.where(std > 0, std, 1.0))
        else:
            shape, scale = self._gamma_parameters(mean, std)
            value = special.gammainc(shape, np.maximum(level, 0.0) / scale)
        return np.where(self._degenerate(mean, std), (level >= mean).astype(float), value)

    def expected_shortage(self, level: np.ndarray) -> np.ndarray:
        """E[(D - level)+], the expected demand not covered by ``level`` units (the loss function)."""
        level, mean, std = self._broadcast(level)
        if self.family == "normal":
            safe_std = np.where(std > 0, std, 1.0)
            z = (level - mean) / safe_std
            value = safe_std * (stats.norm.pdf(z) - z * stats.norm.sf(z))
        else:
            shape, scale = self._gamma_parameters(mean, std)
            x = np.maximum(level, 0.0) / scale
            # E[(D - y)+] = k theta Q(k + 1, y / theta) - y Q(k, y / theta), Q the regularized upper gamma.
            value = shape * scale * special.gammaincc(shape + 1.0, x) - np.maximum(level, 0.0) * special.gammaincc(
                shape, x
            )
            value = value + np.maximum(-level, 0.0)  # a negative level also misses that many units
        exact = np.maximum(mean - level, 0.0)
        return np.maximum(np.where(self._degenerate(mean, std), exact, value), 0.0)

    def expected_sales(self, level: np.ndarray) -> np.ndarray:
        """E[min(D, level)], the expected demand served from ``level`` units."""
        level, mean, _ = self._broadcast(level)
        return mean - self.expected_shortage(level)


def interval_distribution(
    period_mean: np.ndarray,
    period_var: np.ndarray,
    fixed_periods: float | np.ndarray,
    lead_time_mean: np.ndarray,
    lead_time_std: np.ndarray,
    family: DistributionFamily = "gamma",
) -> DemandDistribution:
    """Demand distribution over ``lead time + fixed_periods`` periods (see :func:`interval_moments`)."""
    mean, var = interval_moments(period_mean, period_var, fixed_periods, lead_time_mean, lead_time_std)
    return DemandDistribution(mean=mean, std=np.sqrt(var), family=family)
