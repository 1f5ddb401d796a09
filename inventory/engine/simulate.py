"""Replay demand period by period through an ordering rule, with lead times and lost sales, and count the cost.

Time series are (periods x lanes): a lane is a product, or one product under one candidate setting (the hindsight
search simulates many candidate levels at once). Each period, in this order:

1. orders due this period arrive (``receipts``);
2. at a review (every ``review_period`` periods, starting with period 0) the rule sees the stock and the history and
   returns quantities; they are rounded to whole packs and raised to the MOQ (the same for every rule) and arrive
   ``lead_time`` periods later (0: at once, before this period's demand);
3. demand is served from stock on hand; what cannot be served is **lost** (lost sales, not backorders: a shopper
   who finds the shelf empty buys elsewhere; this is the retail norm and never lets a rule "catch up" on a shortage);
4. costs: holding on the end-of-period stock, a fixed cost per order, a shortage cost per unit of lost demand (the
   lost margin plus any goodwill penalty), and the purchase cost of what was ordered, reported separately.

``total_cost`` = holding + ordering + shortage. Purchases are left out by default because under lost sales they
differ between rules only by the units sold (which the shortage cost already values at the lost margin) and by the
stock left at the end; ``include_purchase_cost=True`` adds them.

The ledger keeps every period's start, receipts, sales and end stock so that start + receipts - sales = end can be
checked, and the rules here are the project's rolling (s, S) plan, the naive "order what sold last period", fixed
order-up-to levels and fixed (s, S) pairs; :func:`best_fixed_order_up_to` finds the best fixed level in hindsight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from inventory.engine.errors import InventoryInputError
from inventory.engine.policy import (
    PlanSettings,
    PolicyArrays,
    ProductArrays,
    compute_policy_arrays,
    orderable_quantity,
)

# (sales history, periods x products; horizon) -> (P10, P50, P90), each (products x horizon)
ForecastFunction = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SimulationCosts:
    """Per-lane cost rates of the simulation."""

    holding_per_unit_period: np.ndarray
    order_cost: np.ndarray
    shortage_per_unit: np.ndarray  # lost margin + penalty per unit of lost demand
    unit_cost: np.ndarray  # purchase price, reported (and added to the total only on request)

    def repeat(self, times: int) -> SimulationCosts:
        """The same costs for ``times`` copies of every lane (lane-major: product 0's copies first)."""
        return SimulationCosts(
            **{
                name: np.repeat(np.asarray(getattr(self, name), dtype=float), times)
                for name in self.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class SimulationState:
    """What a rule may look at when it decides (nothing from the future)."""

    period: int
    on_hand: np.ndarray  # after this period's receipts, before its demand
    on_order: np.ndarray  # ordered, not yet received
    sales_history: np.ndarray  # (past periods x lanes): observed sales, the warm-up history first
    demand_history: np.ndarray  # (past periods x lanes): true demand, for rules that may see lost sales
    sales_since_last_review: np.ndarray

    @property
    def inventory_position(self) -> np.ndarray:
        return self.on_hand + self.on_order


class OrderRule(Protocol):
    def __call__(self, state: SimulationState) -> np.ndarray: ...


@dataclass(frozen=True)
class StockLedger:
    """Every period of every lane (arrays are periods x lanes)."""

    start_on_hand: np.ndarray
    receipts: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    lost_sales: np.ndarray
    end_on_hand: np.ndarray
    order_quantity: np.ndarray
    on_order_end: np.ndarray

    def imbalance(self) -> np.ndarray:
        """start + receipts - sales - end, per period and lane: zero when the stock accounting balances."""
        return self.start_on_hand + self.receipts - self.sales - self.end_on_hand


@dataclass(frozen=True)
class SimulationResult:
    """Per-lane outcomes of one simulation (arrays of one value per lane), and the ledger behind them."""

    ledger: StockLedger
    fill_rate: np.ndarray  # units sold / units demanded
    stockout_periods: np.ndarray  # periods with some demand lost
    average_on_hand: np.ndarray  # mean end-of-period stock
    holding_cost: np.ndarray
    ordering_cost: np.ndarray
    shortage_cost: np.ndarray
    purchase_cost: np.ndarray
    total_cost: np.ndarray
    orders_placed: np.ndarray

    def summary(self) -> dict[str, float]:
        """Totals over all lanes (fill rate weighted by demand)."""
        demand = self.ledger.demand.sum()
        return {
            "total_cost": float(self.total_cost.sum()),
            "holding_cost": float(self.holding_cost.sum()),
            "ordering_cost": float(self.ordering_cost.sum()),
            "shortage_cost": float(self.shortage_cost.sum()),
            "purchase_cost": float(self.purchase_cost.sum()),
            "fill_rate": float(self.ledger.sales.sum() / demand) if demand > 0 else 1.0,
            "stockout_periods": float(self.stockout_periods.sum()),
            "average_on_hand": float(self.average_on_hand.sum()),
            "orders_placed": float(self.orders_placed.sum()),
        }


def _lane_array(value: float | np.ndarray, n_lanes: int, name: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(value, dtype=float), (n_lanes,)).astype(float)
    if not np.isfinite(array).all() or (array < 0).any():
        raise InventoryInputError([f"{name} must be finite and not negative"])
    return array


def simulate_inventory(
    demand: np.ndarray,
    rule: OrderRule,
    *,
    costs: SimulationCosts,
    initial_on_hand: float | np.ndarray,
    lead_times: int | np.ndarray = 1,
    review_period: int = 1,
    pack_size: float | np.ndarray = 1.0,
    min_order_qty: float | np.ndarray = 0.0,
    initial_arrivals: np.ndarray | None = None,
    history: np.ndarray | None = None,
    include_purchase_cost: bool = False,
) -> SimulationResult:
    """Run ``rule`` over ``demand`` (periods x lanes) and return costs, service and the period ledger.

    ``lead_times`` is one integer per (period, lane) -- the lead time an order placed then would get -- or a scalar;
    pass the same array to every rule so that they face the same supplier delays. ``initial_arrivals`` (k x lanes)
    are receipts already on the way, arriving in periods 0..k-1. ``history`` (periods x lanes) is the sales history
    before period 0, shown to the rule.
    """
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    n_periods, n_lanes = demand.shape
    if not np.isfinite(demand).all() or (demand < 0).any():
        raise InventoryInputError(["demand must be finite and not negative in every period"])
    if int(review_period) != review_period or review_period < 1:
        raise InventoryInputError([f"review_period must be a whole number of periods >= 1 (got {review_period})"])
    lead = np.broadcast_to(np.asarray(lead_times), (n_periods, n_lanes))
    if (lead < 0).any() or not np.issubdtype(lead.dtype, np.integer):
        raise InventoryInputError(["lead times must be whole, non-negative numbers of periods in the simulator"])
    pack = _lane_array(pack_size, n_lanes, "pack_size")
    if (pack <= 0).any():
        raise InventoryInputError(["pack_size must be greater than zero"])
    moq = _lane_array(min_order_qty, n_lanes, "min_order_qty")
    on_hand = _lane_array(initial_on_hand, n_lanes, "initial_on_hand").copy()
    history = np.zeros((0, n_lanes)) if history is None else np.asarray(history, dtype=float)

    arrivals = np.zeros((n_periods + int(lead.max()) + 1, n_lanes))
    if initial_arrivals is not None:
        initial_arrivals = np.atleast_2d(np.asarray(initial_arrivals, dtype=float))
        arrivals = np.vstack([arrivals, np.zeros((max(len(initial_arrivals) - len(arrivals), 0), n_lanes))])
        arrivals[: len(initial_arrivals)] += initial_arrivals
    on_order = arrivals.sum(axis=0)

    ledger = {name: np.zeros((n_periods, n_lanes)) for name in StockLedger.__dataclass_fields__}
    sales_history = np.vstack([history, np.zeros((n_periods, n_lanes))])
    demand_history = np.vstack([history, np.zeros((n_periods, n_lanes))])
    offset = len(history)
    sales_since_review = history[-1].copy() if len(history) else np.zeros(n_lanes)
    lanes = np.arange(n_lanes)

    for t in range(n_periods):
        ledger["start_on_hand"][t] = on_hand
        receipts = arrivals[t].copy()
        on_hand += receipts
        on_order -= receipts
        if t % review_period == 0:
            state = SimulationState(
                period=t,
                on_hand=on_hand.copy(),
                on_order=on_order.copy(),
                sales_history=sales_history[: offset + t],
                demand_history=demand_history[: offset + t],
                sales_since_last_review=sales_since_review.copy(),
            )
            wanted = np.asarray(rule(state), dtype=float)
            if wanted.shape != (n_lanes,) or not np.isfinite(wanted).all():
                raise InventoryInputError(
                    [
                        f"the order rule returned {wanted.shape} values or non-finite ones; "
                        f"expected {n_lanes} finite quantities"
                    ]
                )
            quantity = orderable_quantity(wanted, pack, moq)
            sales_since_review = np.zeros(n_lanes)
            arrive = t + lead[t]
            np.add.at(arrivals, (arrive, lanes), quantity)
            on_order += quantity
            immediate = np.where(lead[t] == 0, quantity, 0.0)
            arrivals[t] -= immediate  # counted as received now, not again
            on_hand += immediate
            on_order -= immediate
            receipts += immediate
            ledger["order_quantity"][t] = quantity
        sales = np.minimum(on_hand, demand[t])
        on_hand -= sales
        sales_since_review += sales
        sales_history[offset + t] = sales
        demand_history[offset + t] = demand[t]
        ledger["receipts"][t] = receipts
        ledger["demand"][t] = demand[t]
        ledger["sales"][t] = sales
        ledger["lost_sales"][t] = demand[t] - sales
        ledger["end_on_hand"][t] = on_hand
        ledger["on_order_end"][t] = on_order

    book = StockLedger(**ledger)
    holding = costs.holding_per_unit_period * book.end_on_hand.sum(axis=0)
    orders = (book.order_quantity > 0).sum(axis=0)
    ordering = costs.order_cost * orders
    shortage = costs.shortage_per_unit * book.lost_sales.sum(axis=0)
    purchase = costs.unit_cost * book.order_quantity.sum(axis=0)
    total_demand = book.demand.sum(axis=0)
    fill_rate = np.divide(book.sales.sum(axis=0), total_demand, out=np.ones(n_lanes), where=total_demand > 0)
    return SimulationResult(
        ledger=book,
        fill_rate=fill_rate,
        stockout_periods=(book.lost_sales > 1e-9).sum(axis=0),
        average_on_hand=book.end_on_hand.mean(axis=0),
        holding_cost=holding,
        ordering_cost=ordering,
        shortage_cost=shortage,
        purchase_cost=purchase,
        total_cost=holding + ordering + shortage + (purchase if include_purchase_cost else 0.0),
        orders_placed=orders,
    )


class NaiveLastPeriodSales:
    """The naive rule: order what sold since the last review (one period's sales with a review every period)."""

    def __call__(self, state: SimulationState) -> np.ndarray:
        return state.sales_since_last_review


@dataclass(frozen=True)
class FixedOrderUpTo:
    """Order up to a fixed level at every review (base-stock)."""

    level: np.ndarray

    def __call__(self, state: SimulationState) -> np.ndarray:
        return np.maximum(self.level - state.inventory_position, 0.0)


@dataclass(frozen=True)
class FixedReorderPointOrderUpTo:
    """A fixed (s, S) pair: when the position is below s, order up to S."""

    reorder_point: np.ndarray
    order_up_to: np.ndarray

    def __call__(self, state: SimulationState) -> np.ndarray:
        position = state.inventory_position
        return np.where(position < self.reorder_point, np.maximum(self.order_up_to - position, 0.0), 0.0)


@dataclass
class RollingPlanPolicy:
    """The project's plan, recomputed at every review from a fresh forecast of the sales seen so far.

    ``products`` carries the costs and supplier terms (its stock and forecast fields are replaced each review);
    ``forecast`` maps the sales history to per-period P10/P50/P90 for ``horizon`` periods from the current one.
    """

    products: ProductArrays
    forecast: ForecastFunction
    settings: PlanSettings
    horizon: int
    use_demand_history: bool = False  # True: forecast from true demand (as if lost sales were recorded)
    plans: list[PolicyArrays] = field(default_factory=list, init=False)  # each review's policy, for inspection

    def __call__(self, state: SimulationState) -> np.ndarray:
        history = state.demand_history if self.use_demand_history else state.sales_history
        p10, p50, p90 = self.forecast(history, self.horizon)
        products = replace(self.products, p10=p10, p50=p50, p90=p90, on_hand=state.on_hand, on_order=state.on_order)
        policy = compute_policy_arrays(products, self.settings)
        self.plans.append(policy)
        return policy.suggested_quantity


@dataclass(frozen=True)
class HindsightResult:
    """The best fixed levels per product, knowing the whole demand in advance, and their simulation."""

    level: np.ndarray  # order-up-to level S
    total_cost: np.ndarray
    simulation: SimulationResult
    reorder_point: np.ndarray | None = None  # s, for the (s, S) search


def _replay_kwargs(
    demand: np.ndarray,
    lead: np.ndarray,
    review_period: int,
    pack_size: float | np.ndarray,
    min_order_qty: float | np.ndarray,
    initial_on_hand: float | np.ndarray,
    initial_arrivals: np.ndarray | None,
    products: np.ndarray,
    copies: int,
) -> dict:
    """Simulation arguments for ``copies`` lanes of each of the given products (lane-major)."""
    n_products = demand.shape[1]

    def lanes(values: float | np.ndarray) -> np.ndarray:
        return np.repeat(np.broadcast_to(np.asarray(values, dtype=float), (n_products,))[products], copies)

    arrivals = None
    if initial_arrivals is not None:
        arrivals = np.repeat(np.atleast_2d(initial_arrivals)[:, products], copies, axis=1)
    return {
        "lead_times": np.repeat(lead[:, products], copies, axis=1),
        "review_period": review_period,
        "pack_size": lanes(pack_size),
        "min_order_qty": lanes(min_order_qty),
        "initial_on_hand": lanes(initial_on_hand),
        "initial_arrivals": arrivals,
    }


def _subset_costs(costs: SimulationCosts, products: np.ndarray, n_products: int, copies: int) -> SimulationCosts:
    return SimulationCosts(
        **{
            name: np.repeat(
                np.broadcast_to(np.asarray(getattr(costs, name), dtype=float), (n_products,))[products], copies
            )
            for name in SimulationCosts.__dataclass_fields__
        }
    )


def _product_chunks(n_products: int, lanes_per_product: int, max_lanes: int) -> list[np.ndarray]:
    size = max(1, max_lanes // lanes_per_product)
    return [np.arange(start, min(start + size, n_products)) for start in range(0, n_products, size)]


def best_fixed_order_up_to(
    demand: np.ndarray,
    *,
    costs: SimulationCosts,
    initial_on_hand: float | np.ndarray,
    lead_times: int | np.ndarray = 1,
    review_period: int = 1,
    pack_size: float | np.ndarray = 1.0,
    min_order_qty: float | np.ndarray = 0.0,
    initial_arrivals: np.ndarray | None = None,
    grid_size: int = 40,
    refinements: int = 3,
    max_lanes: int = 200_000,
) -> HindsightResult:
    """Search, per product, the fixed order-up-to level with the lowest simulated total cost over ``demand``.

    A grid from 0 to 1.2 x the largest demand over (longest lead time + review period + 1) periods, then
    ``refinements`` finer grids around the best point; every candidate is simulated as its own lane.
    """
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    n_periods, n_products = demand.shape
    lead = np.broadcast_to(np.asarray(lead_times), (n_periods, n_products))
    window = int(lead.max()) + review_period + 1
    window_sums = np.array([demand[max(0, t - window + 1) : t + 1].sum(axis=0) for t in range(n_periods)])
    low = np.zeros(n_products)
    high = np.maximum(window_sums.max(axis=0) * 1.2, 1.0)
    best_level = np.zeros(n_products)
    for _ in range(refinements + 1):
        grid = low[:, None] + (high - low)[:, None] * np.linspace(0.0, 1.0, grid_size)[None, :]
        cost = np.empty((n_products, grid_size))
        for chunk in _product_chunks(n_products, grid_size, max_lanes):
            result = simulate_inventory(
                np.repeat(demand[:, chunk], grid_size, axis=1),
                FixedOrderUpTo(grid[chunk].ravel()),
                costs=_subset_costs(costs, chunk, n_products, grid_size),
                **_replay_kwargs(
                    demand,
                    lead,
                    review_period,
                    pack_size,
                    min_order_qty,
                    initial_on_hand,
                    initial_arrivals,
                    chunk,
                    grid_size,
                ),
            )
            cost[chunk] = result.total_cost.reshape(len(chunk), grid_size)
        best_level = grid[np.arange(n_products), np.argmin(cost, axis=1)]
        step = (high - low) / (grid_size - 1)
        low = np.maximum(best_level - step, 0.0)
        high = best_level + step

    final = simulate_inventory(
        demand,
        FixedOrderUpTo(best_level),
        costs=costs,
        initial_on_hand=initial_on_hand,
        lead_times=lead,
        review_period=review_period,
        pack_size=pack_size,
        min_order_qty=min_order_qty,
        initial_arrivals=initial_arrivals,
    )
    return HindsightResult(level=best_level, total_cost=final.total_cost, simulation=final)


def best_fixed_reorder_point_order_up_to(
    demand: np.ndarray,
    *,
    costs: SimulationCosts,
    initial_on_hand: float | np.ndarray,
    lead_times: int | np.ndarray = 1,
    review_period: int = 1,
    pack_size: float | np.ndarray = 1.0,
    min_order_qty: float | np.ndarray = 0.0,
    initial_arrivals: np.ndarray | None = None,
    grid_size: int = 14,
    refinements: int = 2,
    max_lanes: int = 200_000,
) -> HindsightResult:
    """Search, per product, the fixed (s, S) pair with the lowest simulated total cost over ``demand``.

    Two-dimensional grids over s (as in :func:`best_fixed_order_up_to`) and the gap S - s (0 to the largest demand
    over ``4 x`` (lead time + review period) periods), refined around the best pair.
    """
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    n_periods, n_products = demand.shape
    lead = np.broadcast_to(np.asarray(lead_times), (n_periods, n_products))
    window = int(lead.max()) + review_period + 1
    window_sums = np.array([demand[max(0, t - window + 1) : t + 1].sum(axis=0) for t in range(n_periods)])
    long_window = 4 * window
    long_sums = np.array([demand[max(0, t - long_window + 1) : t + 1].sum(axis=0) for t in range(n_periods)])
    s_low, s_high = np.zeros(n_products), np.maximum(window_sums.max(axis=0) * 1.2, 1.0)
    gap_low, gap_high = np.zeros(n_products), np.maximum(long_sums.max(axis=0), 1.0)
    unit = np.linspace(0.0, 1.0, grid_size)
    lanes_per_product = grid_size * grid_size
    best_s = best_gap = np.zeros(n_products)
    for _ in range(refinements + 1):
        s_grid = s_low[:, None] + (s_high - s_low)[:, None] * unit[None, :]
        gap_grid = gap_low[:, None] + (gap_high - gap_low)[:, None] * unit[None, :]
        # Lane order per product: every s with every gap (s-major).
        s_lanes = np.repeat(s_grid, grid_size, axis=1)
        gap_lanes = np.tile(gap_grid, (1, grid_size))
        cost = np.empty((n_products, lanes_per_product))
        for chunk in _product_chunks(n_products, lanes_per_product, max_lanes):
            rule = FixedReorderPointOrderUpTo(
                reorder_point=s_lanes[chunk].ravel(), order_up_to=(s_lanes[chunk] + gap_lanes[chunk]).ravel()
            )
            result = simulate_inventory(
                np.repeat(demand[:, chunk], lanes_per_product, axis=1),
                rule,
                costs=_subset_costs(costs, chunk, n_products, lanes_per_product),
                **_replay_kwargs(
                    demand,
                    lead,
                    review_period,
                    pack_size,
                    min_order_qty,
                    initial_on_hand,
                    initial_arrivals,
                    chunk,
                    lanes_per_product,
                ),
            )
            cost[chunk] = result.total_cost.reshape(len(chunk), lanes_per_product)
        best = np.argmin(cost, axis=1)
        rows = np.arange(n_products)
        best_s, best_gap = s_lanes[rows, best], gap_lanes[rows, best]
        s_step = (s_high - s_low) / (grid_size - 1)
        gap_step = (gap_high - gap_low) / (grid_size - 1)
        s_low, s_high = np.maximum(best_s - s_step, 0.0), best_s + s_step
        gap_low, gap_high = np.maximum(best_gap - gap_step, 0.0), best_gap + gap_step

    final = simulate_inventory(
        demand,
        FixedReorderPointOrderUpTo(best_s, best_s + best_gap),
        costs=costs,
        initial_on_hand=initial_on_hand,
        lead_times=lead,
        review_period=review_period,
        pack_size=pack_size,
        min_order_qty=min_order_qty,
        initial_arrivals=initial_arrivals,
    )
    return HindsightResult(level=best_s + best_gap, total_cost=final.total_cost, simulation=final, reorder_point=best_s)
