"""Reorder levels from a small stochastic dynamic program over the next reviews (Scarf's periodic-review model).

The closed-form policy (:mod:`inventory.engine.policy`) sets one (s, S) from the demand over lead time + review
period, as if that demand were stationary. This program looks ``reviews`` review periods ahead instead (more for
slow movers with costly orders, see :func:`dynamic_order_levels`), so the levels
move with the forecast: they rise before a seasonal peak, fall before a trough, and an order is placed only when
what it saves over the coming reviews pays for its fixed cost.

The state is the inventory position x (on hand + on order) at a review; ordering raises it to y >= x + the smallest
orderable lot, at a fixed cost K. The cost charged to the decision at review t is what happens at the end of the
review period its delivery covers (the delivery arrives after the lead time L, in whole periods):

    c_t(y) = h * sum over the periods of that review of E[(y - D[t, t + L + k))+]
             + p * (E[(D[t, t + L + R) - y)+] - E[(D[t, t + L) - y)+])

holding on what is left, and the lost sales of that review period only (the shortage before the delivery arrives
was charged to the previous decision). It is averaged over the lead time's distribution on whole periods (see
:func:`whole_period_lead_times`). Demands come from the forecast quantiles through the same
per-period moments and gamma/normal interval distributions as the closed-form policy. The recursion, on a grid of
positions per product,

    G_t(y) = c_t(y) + E[V_{t+1}(max(y - D_t, 0))],   V_t(x) = min(G_t(x), K + min_{y >= x + lot} G_t(y)),
    V_T = 0,

is Scarf's (s, S) program with lost sales read as backorders inside the charge (stockouts are rare at the fractiles
retail margins give). Only the first review's decision is used: S = argmin G_0, and s = the position below which
ordering pays: not ordering costs more than the best order from there (K + min over y >= x + lot of G_0(y)); the
plan is recomputed at the next review from a fresh forecast.

Vectorized over products: each product has its own grid of ``grid_size`` positions from 0 to a level above any
useful order-up-to level. Time is O(reviews x (whole-period lead times + demand nodes) x products x grid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from inventory.engine.demand_distribution import CumulativeDemand, DemandDistribution, DistributionFamily

DEFAULT_REVIEWS = 12  # the program looks at least this many reviews ahead ...
MAX_REVIEWS = 52  # ... and up to this many, to see three economic lots after the longest lead time
_LOTS_IN_VIEW = 3.0
GRID_SIZE = 160
DEMAND_NODES = 12  # equally likely demands per review period in the transition
_NEGLIGIBLE_PROBABILITY = 1e-6
_GRID_STD_MARGIN = 4.0  # the grid reaches this many standard deviations above the demand it must cover
_GRID_QUANTILE = 0.9995  # ... and at least this quantile of it (above the 0.999 cap on the fractiles)


@dataclass(frozen=True)
class DynamicLevels:
    """The first review's decision of the program, per product."""

    reorder_point: np.ndarray  # s: order when the position is below it
    order_up_to: np.ndarray  # S: the position the order brings
    cost_with_order: np.ndarray  # K + min over y >= x + lot of G_0(y): the best order now, x the position
    cost_without_order: np.ndarray  # G_0(x): the same when not ordering, x the current position
    reviews: np.ndarray  # reviews the program looked ahead, per product
    grid_step: np.ndarray  # the grid's spacing per product (the levels' resolution)


def dynamic_order_levels(
    period_mean: np.ndarray,
    period_var: np.ndarray,
    *,
    position: np.ndarray,
    review_period: float,
    lead_time_mean: np.ndarray,
    lead_time_std: np.ndarray,
    holding_per_period: np.ndarray,
    shortage_per_unit: np.ndarray,
    order_cost: np.ndarray,
    min_lot: np.ndarray,
    lot_size: np.ndarray,
    pack_size: np.ndarray | float = 1.0,
    family: DistributionFamily = "gamma",
    reviews: int = DEFAULT_REVIEWS,
    grid_size: int = GRID_SIZE,
) -> DynamicLevels:
    """Solve the program for every product (rows of ``period_mean``/``period_var``, one column per period).

    ``min_lot`` is the smallest orderable quantity (a pack, at least the MOQ); ``lot_size`` the economic lot (the
    EOQ in whole packs, at least the MOQ). Each product looks ahead ``reviews`` reviews, or more (up to
    ``MAX_REVIEWS``, or ``reviews`` if larger) when its longest lead time plus three lots take longer: a slow mover
    with a costly order or a large MOQ must see the demand a lot will serve, or it would order too often (or never).
    Past the forecast's last period the demand repeats it, so those stages cost little (their charges are computed
    once).
    """
    cumulative = CumulativeDemand.from_periods(period_mean, period_var)
    n_products = cumulative.mean.shape[0]
    review = float(review_period)
    lead_probabilities = whole_period_lead_times(lead_time_mean, lead_time_std)
    # Drop each product's negligible tail (so that no product is charged for another's lead times), renormalized.
    lead_probabilities = np.where(lead_probabilities > _NEGLIGIBLE_PROBABILITY, lead_probabilities, 0.0)
    lead_probabilities /= lead_probabilities.sum(axis=1, keepdims=True)
    leads = [
        lead
        for lead in range(lead_probabilities.shape[1])
        if lead_probabilities[:, lead].max() > _NEGLIGIBLE_PROBABILITY
    ]
    holding, shortage = np.asarray(holding_per_period, float), np.asarray(shortage_per_unit, float)
    order_cost, min_lot = np.asarray(order_cost, float), np.maximum(np.asarray(min_lot, float), 0.0)
    pack_size = np.broadcast_to(np.asarray(pack_size, float), (n_products,))

    support = np.arange(lead_probabilities.shape[1])[None, :]
    longest_lead = np.where(lead_probabilities > 0, support, 0).max(axis=1).astype(float)
    lot_periods = _lot_periods(cumulative, np.asarray(lot_size, float), reviews * review)
    horizons = np.clip(
        np.ceil((longest_lead + _LOTS_IN_VIEW * lot_periods) / review) + 1, reviews, max(reviews, MAX_REVIEWS)
    ).astype(np.int64)
    step = _grid_step(cumulative, longest_lead, review, lot_periods, min_lot, pack_size, horizons, grid_size, family)
    levels = step[:, None] * np.arange(grid_size)[None, :]
    min_lot_steps = np.ceil(min_lot / step - 1e-9).astype(np.int64)
    holding_periods = max(1, round(review))
    forecast_periods = cumulative.mean.shape[1] - 1

    value = np.zeros((n_products, grid_size))
    cost_after_order = value
    stationary_charge: np.ndarray | None = None
    for t in range(int(horizons.max()) - 1, -1, -1):
        beyond_forecast = t * review >= forecast_periods  # every window of this stage repeats the last period
        if beyond_forecast and stationary_charge is not None:
            charged = stationary_charge
        else:
            charged = _charged_cost(
                cumulative,
                t * review,
                lead_probabilities,
                leads,
                review,
                holding_periods,
                levels,
                holding,
                shortage,
                family,
            )
            stationary_charge = charged if beyond_forecast else None
        continuation = (
            _expected_next_value(cumulative, t * review, review, value, step, family) if t < horizons.max() - 1 else 0.0
        )
        cost_after_order = charged + continuation
        value = np.minimum(cost_after_order, order_cost[:, None] + _best_order(cost_after_order, min_lot_steps))
        value[t >= horizons] = 0.0  # a product whose program has not started yet: its end value

    return _first_decision(
        cost_after_order, levels, step, order_cost, min_lot_steps, np.asarray(position, float), horizons
    )


def whole_period_lead_times(lead_time_mean: np.ndarray, lead_time_std: np.ndarray) -> np.ndarray:
    """P(lead time = 0, 1, 2, ... whole periods) per product (products x support), matching the mean and std.

    Deliveries are received at the start of a period, so the program needs the lead time in whole periods. A
    mean between two whole numbers with a std below the two-point spread sqrt(f (1 - f)) (f the fraction) gets the
    two-point distribution on its neighbours: the exact mean, the least spread whole periods allow. Otherwise a
    Normal is rounded to whole periods (and truncated at zero), its centre and width chosen (by alternating
    bisections) so that the rounded distribution has the given mean and std: a width equal to the std would add
    the rounding's own spread, and the program's decisions are sensitive to the lead time's tails. The mean is
    always kept; a std too large for it next to the zero bound (e.g. 2 +- 3 periods) comes out smaller.
    """
    mean = np.maximum(np.asarray(lead_time_mean, dtype=float), 0.0)
    std = np.maximum(np.asarray(lead_time_std, dtype=float), 0.0)
    support = np.arange(int(np.ceil(float((mean + 6.0 * std).max()))) + 2)
    below = np.floor(mean)
    fraction = mean - below
    two_point = (support[None, :] == below[:, None]) * (1.0 - fraction)[:, None] + (
        support[None, :] == below[:, None] + 1
    ) * fraction[:, None]

    def rounded_normal(centre: np.ndarray, width: np.ndarray) -> np.ndarray:
        weights = np.exp(-0.5 * ((support[None, :] - centre[:, None]) / width[:, None]) ** 2)
        with np.errstate(invalid="ignore"):  # an underflowing (too narrow) trial width: NaN, rejected below
            return weights / weights.sum(axis=1, keepdims=True)

    def moments(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        first = weights @ support
        return first, np.sqrt(np.maximum(weights @ support**2 - first**2, 0.0))

    def bisect(too_high: Callable[[np.ndarray], np.ndarray], low: np.ndarray, high: np.ndarray) -> np.ndarray:
        for _ in range(50):
            middle = 0.5 * (low + high)
            above = too_high(middle)
            high, low = np.where(above, middle, high), np.where(above, low, middle)
        return 0.5 * (low + high)

    def std_above(width: np.ndarray, centre: np.ndarray) -> np.ndarray:
        return moments(rounded_normal(centre, width))[1] > std

    def mean_above(centre: np.ndarray, width: np.ndarray) -> np.ndarray:
        return moments(rounded_normal(centre, width))[0] > mean

    centre, width = mean.copy(), np.maximum(std, 1e-3)
    for _ in range(4):  # both moments move with both parameters a little; a few rounds settle them
        width = bisect(partial(std_above, centre=centre), np.full(len(mean), 1e-3), 10.0 * std + 1.0)
        # Far below zero, so that truncation at zero can be compensated (the mean is always matched; a std too
        # large for the mean and the zero bound is not, and comes out smaller).
        # (Near zero the truncated distribution decays like exp(-|centre| k / width^2): the bracket scales so.)
        centre = bisect(
            partial(mean_above, width=width),
            mean - 10.0 * (width**2 + std + 1.0),
            mean + 3.0 * std + 1.0,
        )
    wide_enough = std > np.sqrt(fraction * (1.0 - fraction)) + 1e-9
    return np.where(wide_enough[:, None], rounded_normal(centre, width), two_point)


def _lot_periods(cumulative: CumulativeDemand, lot_size: np.ndarray, periods: float) -> np.ndarray:
    """Periods of demand a lot covers, at the mean demand per period over the next ``periods``."""
    total, _ = cumulative.through(np.full((len(lot_size), 1), periods))
    mean_per_period = total[:, 0] / periods
    with np.errstate(divide="ignore", invalid="ignore"):
        lot_periods = lot_size / mean_per_period
    return np.nan_to_num(lot_periods, nan=0.0, posinf=MAX_REVIEWS * periods)


def _grid_step(
    cumulative: CumulativeDemand,
    longest_lead: np.ndarray,
    review: float,
    lot_periods: np.ndarray,
    min_lot: np.ndarray,
    pack_size: np.ndarray,
    horizons: np.ndarray,
    grid_size: int,
    family: DistributionFamily,
) -> np.ndarray:
    """Spacing of each product's grid, so that it reaches above the demand of the longest lead time plus two
    economic lots (or the whole program, whichever is shorter), with a margin of standard deviations."""
    cover = longest_lead + np.minimum(review + 2.0 * lot_periods, horizons * review)
    mean, var = cumulative.through(cover[:, None])
    demand = DemandDistribution(mean=mean[:, 0], std=np.sqrt(var[:, 0]), family=family)
    # The larger of mean + 4 sd and a far quantile (skewed demand), so that S is not cut off by the grid's top.
    upper = np.maximum(demand.mean + _GRID_STD_MARGIN * demand.std, demand.quantile(_GRID_QUANTILE)) + min_lot
    # Whole multiples of the unit stock is counted in (1, or a fractional pack), so that small levels are exact.
    unit = np.minimum(np.where(pack_size > 0, pack_size, 1.0), 1.0)
    return np.maximum(np.ceil(upper / (grid_size - 1) / unit - 1e-9), 1.0) * unit


def _charged_cost(
    cumulative: CumulativeDemand,
    start: float,
    lead_probabilities: np.ndarray,
    leads: list[int],
    review: float,
    holding_periods: int,
    levels: np.ndarray,
    holding: np.ndarray,
    shortage: np.ndarray,
    family: DistributionFamily,
) -> np.ndarray:
    """c_t(y) on the grid: holding and new lost sales of the review period an order placed at ``start`` covers,
    averaged over the whole-period lead times.

    The loss function E[(D[start, start + offset) - y)+] is computed once per interval length and only for the
    products whose lead times need it (different lead times share lengths: one's "through" is the next's "before").
    """
    n_products = levels.shape[0]
    offsets: dict[float, np.ndarray] = {}
    for lead in leads:
        likely = lead_probabilities[:, lead] > _NEGLIGIBLE_PROBABILITY
        for offset in [lead, *(lead + review * k / holding_periods for k in range(1, holding_periods + 1))]:
            key = round(float(offset), 9)
            offsets[key] = offsets.get(key, np.zeros(n_products, dtype=bool)) | likely
    loss: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def loss_at(offset: float) -> tuple[np.ndarray, np.ndarray]:
        """(mean, E[(D - y)+]) of the demand of [start, start + offset), for the products that need it."""
        key = round(float(offset), 9)
        if key not in loss:
            mean_full, shortfall = np.zeros(n_products), np.zeros_like(levels)
            rows = np.flatnonzero(offsets[key])
            if key > 0 and len(rows):
                window_mean, window_var = cumulative.between(
                    np.full((len(rows), 1), start), np.full((len(rows), 1), start + key), rows
                )
                demand = DemandDistribution(mean=window_mean[:, 0], std=np.sqrt(window_var[:, 0]), family=family)
                mean_full[rows] = demand.mean
                shortfall[rows] = demand.expected_shortage(levels[rows])
            loss[key] = (mean_full, shortfall)
        return loss[key]

    cost = np.zeros_like(levels)
    for lead in leads:  # ascending
        # Shorter intervals are not needed again: free them (a long lead-time tail would keep one grid per length).
        for key in [key for key in loss if key < lead - 1e-9]:
            del loss[key]
        lead_cost = np.zeros_like(levels)
        for k in range(1, holding_periods + 1):
            mean, shortfall = loss_at(lead + review * k / holding_periods)
            # E[(y - D)+] = y - E[D] + E[(D - y)+], held for review / holding_periods periods
            lead_cost += holding[:, None] * (review / holding_periods) * (levels - mean[:, None] + shortfall)
        through = loss_at(lead + review)[1]
        before = loss_at(lead)[1]
        lead_cost += shortage[:, None] * np.maximum(through - before, 0.0)
        cost += lead_probabilities[:, lead : lead + 1] * lead_cost
    return cost


def _expected_next_value(
    cumulative: CumulativeDemand,
    start: float,
    review: float,
    value: np.ndarray,
    step: np.ndarray,
    family: DistributionFamily,
) -> np.ndarray:
    """E[V(max(y - D, 0))] on the grid, D this review period's demand at equally likely quantiles (interpolated)."""
    n_products = value.shape[0]
    mean, var = cumulative.between(np.full((n_products, 1), start), np.full((n_products, 1), start + review))
    demand = DemandDistribution(mean=mean[:, 0], std=np.sqrt(var[:, 0]), family=family)
    probabilities = (np.arange(DEMAND_NODES) + 0.5) / DEMAND_NODES
    nodes = demand.quantile(np.broadcast_to(probabilities, (len(step), DEMAND_NODES)))
    grid_size = value.shape[1]
    index = np.arange(grid_size, dtype=float)[None, :]
    expected = np.zeros_like(value)
    for node in range(DEMAND_NODES):
        position = np.clip(index - (nodes[:, node] / step)[:, None], 0.0, grid_size - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, grid_size - 1)
        fraction = position - below
        expected += (1.0 - fraction) * np.take_along_axis(value, below, axis=1) + fraction * np.take_along_axis(
            value, above, axis=1
        )
    return expected / DEMAND_NODES


def _best_order(cost_after_order: np.ndarray, min_lot_steps: np.ndarray) -> np.ndarray:
    """min over y >= x + the smallest lot of G(y), for every grid position x (inf where no such y is on the grid)."""
    suffix_min = np.minimum.accumulate(cost_after_order[:, ::-1], axis=1)[:, ::-1]
    grid_size = cost_after_order.shape[1]
    target = np.arange(grid_size)[None, :] + np.maximum(min_lot_steps, 0)[:, None]
    reachable = target < grid_size
    best = np.take_along_axis(suffix_min, np.minimum(target, grid_size - 1), axis=1)
    return np.where(reachable, best, np.inf)


def _first_decision(
    cost_after_order: np.ndarray,
    levels: np.ndarray,
    step: np.ndarray,
    order_cost: np.ndarray,
    min_lot_steps: np.ndarray,
    position: np.ndarray,
    reviews: np.ndarray,
) -> DynamicLevels:
    """S = argmin G_0; s = where ordering stops paying: the highest x below S with G_0(x) > K + min over
    y >= x + the smallest lot of G_0(y), plus the interpolated crossing to the next grid point."""
    n_products, grid_size = cost_after_order.shape
    rows = np.arange(n_products)
    best_index = np.argmin(cost_after_order, axis=1)
    ordering = order_cost[:, None] + _best_order(cost_after_order, min_lot_steps)  # inf where no lot fits the grid
    gain = cost_after_order - ordering  # > 0 where ordering pays
    pays = (gain > 0) & (np.arange(grid_size)[None, :] <= best_index[:, None])
    last_paying = np.where(pays.any(axis=1), grid_size - 1 - np.argmax(pays[:, ::-1], axis=1), -1)
    has_crossing = last_paying >= 0
    i = np.where(has_crossing, last_paying, 0)
    j = np.minimum(i + 1, grid_size - 1)
    gain_i, gain_j = gain[rows, i], gain[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(np.isfinite(gain_j) & (gain_i > gain_j), gain_i / (gain_i - gain_j), 1.0)
    reorder_point = np.where(has_crossing, levels[rows, i] + np.clip(fraction, 0.0, 1.0) * step, 0.0)
    order_up_to = levels[rows, best_index]
    with np.errstate(invalid="ignore"):
        cost_with = _at_position(ordering, position, step)
    return DynamicLevels(
        reorder_point=np.minimum(reorder_point, order_up_to),
        order_up_to=order_up_to,
        cost_with_order=np.where(np.isfinite(cost_with), cost_with, np.nan),
        cost_without_order=_at_position(cost_after_order, position, step),
        reviews=reviews,
        grid_step=step,
    )


def _at_position(values: np.ndarray, position: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Each product's grid values at its position, interpolated; above the grid extrapolated along the last step
    (extra stock there only adds holding, linear in the units)."""
    grid_size = values.shape[1]
    rows = np.arange(values.shape[0])
    here = np.clip(position / step, 0.0, 1e12)  # absurd positions stay representable as grid indexes
    below = np.minimum(np.floor(here).astype(np.int64), grid_size - 2)
    weight = here - below
    lower, upper = values[rows, below], values[rows, below + 1]
    return np.where(weight > 0, (1 - weight) * lower + weight * upper, lower)
