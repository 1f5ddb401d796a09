"""Price elasticity of demand per product, shrunk toward its category when the product's own data says little.

The model is log-linear in price: ``log E[demand_t] = a + b * t + seasonality_t + elasticity * log(price_t)``, with a
linear trend and Fourier seasonal terms as controls, so that a price cut during the high season is not mistaken for
a strong price effect. It is fitted by Poisson pseudo-maximum likelihood (iteratively reweighted least squares),
which is the log-log regression that tolerates periods of zero demand; standard errors are quasi-Poisson
(scaled by the Pearson dispersion).

A category (any group of products) gets one pooled elasticity with a fixed effect and a trend per product. A
product's own estimate is then shrunk toward it with the usual normal-normal weight
``w = tau² / (tau² + se²)``, where ``tau²`` is the spread of the true elasticities across the category's products
(method of moments). A product with no price variation takes the category's figure.

These are observational estimates: if prices were set in response to demand, the elasticity is biased. They are
good for "what if the price changes by -10%" questions near the prices already tried.

Only the periods since a product's first sale count: before its launch a zero says nothing about its price (and a
fit on a zero-led history separates perfectly, which left the IRLS with a singular matrix). A product with fewer
than ``MIN_ACTIVE_PERIODS`` periods since its first sale, or fewer than ``MIN_SELLING_PERIODS`` periods with a sale,
gets ``not_enough_data`` (or its category's figure); a fit that still fails numerically gives ``not_identified``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
Key = TypeVar("Key", bound=Hashable)

MIN_LOG_PRICE_SPREAD = 0.01  # standard deviation of log price below which the elasticity is not identified
MAX_FOURIER_HARMONICS = 4
MAX_GROUP_ITEMS = 100  # items (largest by demand) used for a pooled category fit
MIN_ACTIVE_PERIODS = 8  # periods since the first sale below which no elasticity is estimated
MIN_SELLING_PERIODS = 3  # periods with a sale below which no elasticity is estimated
DEFAULT_BETWEEN_VARIANCE = 0.25  # tau² when a category has too few identified products to measure it
MIN_BETWEEN_VARIANCE = 0.01


class ElasticitySource(StrEnum):
    OWN = "own"  # the product's own estimate, no category to shrink toward
    SHRUNK = "shrunk"  # the product's own estimate shrunk toward its category
    GROUP = "group"  # the product's prices never varied: the category's estimate
    NOT_IDENTIFIED = "not_identified"  # no price variation (or a degenerate fit) and no category
    NOT_ENOUGH_DATA = "not_enough_data"  # too short a history since the first sale, and no category


@dataclass(frozen=True)
class ElasticityEstimate:
    elasticity: float  # percent change of demand for a 1% price change (usually negative)
    std_error: float
    own_elasticity: float  # before shrinkage; NaN when not identified
    own_std_error: float
    n_periods: int
    source: ElasticitySource


def price_change_multiplier(elasticity: float, price_change: float) -> float:
    """Demand multiplier when the price changes by ``price_change`` (``-0.10`` for a 10% cut): (1 + x) ** e."""
    if price_change <= -1.0:
        raise ValueError("a price change must be above -100%")
    if math.isnan(elasticity):
        return 1.0
    return float((1.0 + price_change) ** elasticity)


def _clean_prices(prices: npt.ArrayLike) -> FloatArray:
    """Carry the last known price over periods without one (no sale, no recorded price)."""
    series = pd.Series(np.asarray(prices, dtype=float))
    series[series <= 0] = np.nan
    return series.ffill().bfill().to_numpy(dtype=float)


def control_design(n_periods: int, season_length: int) -> FloatArray:
    """Trend and Fourier seasonal columns (no intercept) for ``n_periods`` periods."""
    t = np.arange(n_periods, dtype=float)
    columns = [t / max(n_periods - 1, 1)]
    if season_length > 1 and n_periods >= 2 * season_length:
        for k in range(1, min(MAX_FOURIER_HARMONICS, (season_length - 1) // 2) + 1):
            angle = 2.0 * np.pi * k * t / season_length
            columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack(columns)


def fit_quasi_poisson(design: FloatArray, target: FloatArray, *, max_iter: int = 100) -> tuple[FloatArray, FloatArray]:
    """Poisson pseudo-maximum likelihood by IRLS; returns (coefficients, quasi-Poisson covariance)."""
    n, p = design.shape
    mu = target + 0.1 * max(float(target.mean()), 1e-9) + 1e-9
    eta = np.log(mu)
    coefficients: npt.NDArray[np.floating[Any]] = np.zeros(p)  # solve() types its result loosely
    ridge = 1e-9 * np.eye(p)
    information = np.eye(p)
    for _ in range(max_iter):
        working = eta + (target - mu) / mu
        weighted = design * mu[:, None]
        information = design.T @ weighted + ridge
        updated = np.linalg.solve(information, weighted.T @ working)
        step = updated - coefficients
        coefficients = updated
        eta = np.clip(design @ coefficients, -50.0, 50.0)
        mu = np.exp(eta)
        if np.max(np.abs(step)) < 1e-8:
            break
    weighted = design * mu[:, None]
    information = design.T @ weighted + ridge
    dispersion = float(np.sum((target - mu) ** 2 / np.maximum(mu, 1e-12)) / max(n - p, 1))
    covariance = dispersion * np.linalg.inv(information)
    return np.asarray(coefficients, dtype=np.float64), np.asarray(covariance, dtype=np.float64)


def _not_identified(n_periods: int, source: ElasticitySource = ElasticitySource.NOT_IDENTIFIED) -> ElasticityEstimate:
    return ElasticityEstimate(math.nan, math.nan, math.nan, math.nan, n_periods, source)


def _active_part(target: FloatArray, log_price: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The periods from the first sale on (before it, a zero is no evidence about the price)."""
    sold = np.flatnonzero(target > 0)
    start = int(sold[0]) if len(sold) else len(target)
    return target[start:], log_price[start:]


def _enough_data(target: FloatArray) -> bool:
    return len(target) >= MIN_ACTIVE_PERIODS and int(np.count_nonzero(target > 0)) >= MIN_SELLING_PERIODS


def _safe_fit(design: FloatArray, target: FloatArray) -> tuple[float, float] | None:
    """(elasticity, standard error) of the last column, or None when the fit is degenerate."""
    try:
        coefficients, covariance = fit_quasi_poisson(design, target)
    except np.linalg.LinAlgError:
        return None
    elasticity, variance = float(coefficients[-1]), float(covariance[-1, -1])
    if not (math.isfinite(elasticity) and math.isfinite(variance)):
        return None
    return elasticity, math.sqrt(max(variance, 0.0))


def estimate_price_elasticity(demand: npt.ArrayLike, prices: npt.ArrayLike, season_length: int) -> ElasticityEstimate:
    """One product's own elasticity (source ``own``; ``not_enough_data`` for a short history since the first sale,
    ``not_identified`` if its price barely moved or the fit is degenerate)."""
    target = np.clip(np.nan_to_num(np.asarray(demand, dtype=float)), 0.0, None)
    log_price = np.log(_clean_prices(prices))
    if len(log_price) != len(target):
        raise ValueError("demand and prices must have the same length")
    target, log_price = _active_part(target, log_price)
    n = len(target)
    if not _enough_data(target):
        return _not_identified(n, ElasticitySource.NOT_ENOUGH_DATA)
    if np.isnan(log_price).any() or log_price.std() < MIN_LOG_PRICE_SPREAD:
        return _not_identified(n)
    controls = control_design(n, season_length)
    design = np.column_stack([np.ones(n), controls, log_price - log_price.mean()])
    if n < design.shape[1] + 5:
        return _not_identified(n, ElasticitySource.NOT_ENOUGH_DATA)
    fitted = _safe_fit(design, target)
    if fitted is None:
        return _not_identified(n)
    elasticity, std_error = fitted
    return ElasticityEstimate(elasticity, std_error, elasticity, std_error, n, ElasticitySource.OWN)


def estimate_group_elasticity(
    items: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]], season_length: int
) -> ElasticityEstimate:
    """One pooled elasticity for a group of (demand, prices) series: fixed effect and trend per item, shared season.

    Series may differ in length; they are taken as ending in the same period.
    """
    prepared = []
    for demand, prices in items:
        target = np.clip(np.nan_to_num(np.asarray(demand, dtype=float)), 0.0, None)
        target, log_price = _active_part(target, np.log(_clean_prices(prices)))
        if _enough_data(target) and not np.isnan(log_price).any():
            prepared.append((target, log_price))
    prepared.sort(key=lambda pair: -float(pair[0].sum()))
    prepared = prepared[:MAX_GROUP_ITEMS]
    n_total = sum(len(t) for t, _ in prepared)
    if not prepared or np.std(np.concatenate([lp - lp.mean() for _, lp in prepared])) < MIN_LOG_PRICE_SPREAD:
        return _not_identified(n_total)
    longest = max(len(t) for t, _ in prepared)
    seasonal = control_design(longest, season_length)[:, 1:]
    n_items = len(prepared)
    blocks = []
    for item, (target, log_price) in enumerate(prepared):
        n = len(target)
        fixed_effects = np.zeros((n, 2 * n_items))
        fixed_effects[:, item] = 1.0
        fixed_effects[:, n_items + item] = np.arange(n, dtype=float) / max(longest - 1, 1)
        blocks.append(np.column_stack([fixed_effects, seasonal[longest - n :], log_price - log_price.mean()]))
    design = np.vstack(blocks)
    target = np.concatenate([t for t, _ in prepared])
    if len(target) < design.shape[1] + 5:
        return _not_identified(n_total)
    fitted = _safe_fit(design, target)
    if fitted is None:
        return _not_identified(n_total)
    elasticity, std_error = fitted
    return ElasticityEstimate(elasticity, std_error, math.nan, math.nan, n_total, ElasticitySource.GROUP)


def between_item_variance(own_estimates: Sequence[ElasticityEstimate]) -> float:
    """Spread of true elasticities across a group's items: var(estimates) minus their mean sampling variance."""
    identified = [e for e in own_estimates if e.source == ElasticitySource.OWN and math.isfinite(e.std_error)]
    if len(identified) < 3:
        return DEFAULT_BETWEEN_VARIANCE
    values = np.asarray([e.own_elasticity for e in identified])
    sampling = np.asarray([e.own_std_error**2 for e in identified])
    return float(max(values.var(ddof=1) - sampling.mean(), MIN_BETWEEN_VARIANCE))


def shrink_toward_group(
    own: ElasticityEstimate, group: ElasticityEstimate, between_variance: float
) -> ElasticityEstimate:
    """Precision-weighted blend of a product's own estimate and its group's."""
    if group.source == ElasticitySource.NOT_IDENTIFIED:
        return own
    if own.source in (ElasticitySource.NOT_IDENTIFIED, ElasticitySource.NOT_ENOUGH_DATA):
        spread = math.sqrt(group.std_error**2 + between_variance)
        return replace(own, elasticity=group.elasticity, std_error=spread, source=ElasticitySource.GROUP)
    own_variance = max(own.own_std_error**2, 1e-12)
    weight = between_variance / (between_variance + own_variance)
    blended = weight * own.own_elasticity + (1.0 - weight) * group.elasticity
    posterior_sd = math.sqrt(1.0 / (1.0 / between_variance + 1.0 / own_variance))
    return replace(own, elasticity=blended, std_error=posterior_sd, source=ElasticitySource.SHRUNK)


def estimate_elasticities(
    items: Mapping[Key, tuple[npt.ArrayLike, npt.ArrayLike]],
    groups: Mapping[Key, Hashable | None],
    season_length: int,
) -> dict[Key, ElasticityEstimate]:
    """Elasticity per item, shrunk toward the pooled estimate of its group (items absent from ``groups``: own)."""
    own = {key: estimate_price_elasticity(demand, prices, season_length) for key, (demand, prices) in items.items()}
    members: dict[Hashable, list[Key]] = {}
    for key in items:
        group = groups.get(key)
        if group is not None:
            members.setdefault(group, []).append(key)
    result = dict(own)
    for keys in members.values():
        pooled = estimate_group_elasticity([items[k] for k in keys], season_length)
        spread = between_item_variance([own[k] for k in keys])
        for key in keys:
            result[key] = shrink_toward_group(own[key], pooled, spread)
    return result
