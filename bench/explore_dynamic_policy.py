"""Exploration for issue #6 (not a benchmark of the product): would a reorder rule that solves a small stochastic
dynamic program at every review save 30% against the naive rule on the real monthly series?

    .venv/bin/python bench/explore_dynamic_policy.py                      # evaluation window (last 36 months)
    .venv/bin/python bench/explore_dynamic_policy.py --shift 36           # the 36 months before it (for choosing)
    .venv/bin/python bench/explore_dynamic_policy.py --spread 1.2 --verbose

Same stores, costs, starting stock, supplier delays and forecast source as `make bench-inventory`'s real-series
section (`bench_inventory.real_stores`, `replay_setup`, `builtin_forecaster`). At every review the rule reads the
forecast's P10/P50/P90 for the next months as independent Normal demands (sigma = (P90 - P10) / 2.563, times
`--spread`), and solves Scarf's periodic-review problem on the inventory position over `--horizon` months: the
cost charged to an order decision is the holding and the new lost sales at the end of the period its delivery
covers, mixed over the supplier's lead-time distribution (as the plan knows it: its mean and std); a fixed cost
per order. It orders when that pays for itself (an (s_t, S_t) rule that moves with the forecast) and applies only
the first decision. Lost sales are approximated by backorders inside the program (stockouts are rare at this
margin). Not part of the product: the plan's closed-form (s, S) is what `make bench-inventory` measures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.bench_inventory import Store, builtin_forecaster, real_stores, replay_setup  # noqa: E402
from inventory.engine.simulate import (  # noqa: E402
    ForecastFunction,
    NaiveLastPeriodSales,
    SimulationState,
    simulate_inventory,
)

P10_P90_WIDTH_IN_SIGMAS = 2 * norm.ppf(0.9)  # 2.563
NODES = np.linspace(-3.0, 3.0, 25)  # quadrature of a standard Normal
WEIGHTS = norm.pdf(NODES) / norm.pdf(NODES).sum()


class DynamicReorderRule:
    """One product: re-solve the periodic-review program from a fresh forecast at every review."""

    def __init__(self, forecast: ForecastFunction, *, holding: float, shortage: float, order_cost: float,
                 lead_probabilities: np.ndarray, horizon: int, spread: float) -> None:
        self.forecast, self.holding, self.shortage, self.order_cost = forecast, holding, shortage, order_cost
        self.lead_probabilities, self.horizon, self.spread = lead_probabilities, horizon, spread

    def __call__(self, state: SimulationState) -> np.ndarray:
        longest_lead = len(self.lead_probabilities) - 1
        p10, p50, p90 = self.forecast(state.sales_history, self.horizon + longest_lead + 1)
        mean = p50[0]
        sigma = np.maximum((p90[0] - p10[0]) / P10_P90_WIDTH_IN_SIGMAS * self.spread, 1e-6)
        position = float(state.on_hand[0] + state.on_order[0])
        scale = float(mean[: self.horizon].mean())
        step = max(scale / 100.0, 1.0)
        levels = np.arange(0.0, max(position, 0.0) + mean[: self.horizon + longest_lead].sum() / 2 + 6 * scale + step,
                           step)
        cumulative_mean = np.concatenate([[0.0], np.cumsum(mean)])
        cumulative_variance = np.concatenate([[0.0], np.cumsum(sigma**2)])

        def demand_through(start: int, end: int) -> np.ndarray:
            """Quadrature points of the demand of periods start .. end - 1."""
            spread = np.sqrt(max(cumulative_variance[end] - cumulative_variance[start], 0.0))
            return np.maximum(cumulative_mean[end] - cumulative_mean[start] + spread * NODES, 0.0)

        def charged_cost(t: int) -> np.ndarray:
            """Expected holding + new lost sales at the end of the period an order placed at t arrives in."""
            total = np.zeros_like(levels)
            for lead, probability in enumerate(self.lead_probabilities):
                if probability <= 0:
                    continue
                through, before = demand_through(t, t + lead + 1), demand_through(t, t + lead)
                held = np.maximum(levels[:, None] - through[None, :], 0.0) @ WEIGHTS
                short_through = np.maximum(through[None, :] - levels[:, None], 0.0) @ WEIGHTS
                short_before = np.maximum(before[None, :] - levels[:, None], 0.0) @ WEIGHTS
                total += probability * (self.holding * held
                                        + self.shortage * np.maximum(short_through - short_before, 0.0))
            return total

        value = np.zeros_like(levels)
        after_order = value
        for t in range(self.horizon - 1, -1, -1):
            demand = np.maximum(mean[t] + sigma[t] * NODES, 0.0)
            next_index = np.clip(np.round((levels[:, None] - demand[None, :]) / step).astype(int), 0, len(levels) - 1)
            after_order = charged_cost(t) + (value[next_index] @ WEIGHTS if t < self.horizon - 1 else 0.0)
            best_at_or_above = np.minimum.accumulate(after_order[::-1])[::-1]
            value = np.minimum(after_order, self.order_cost + best_at_or_above)
        here = int(np.clip(round(position / step), 0, len(levels) - 1))
        target = here + int(np.argmin(after_order[here:]))
        if self.order_cost + after_order[target] < after_order[here]:
            return np.array([max(levels[target] - position, 0.0)])
        return np.array([0.0])


def lead_probabilities(store: Store) -> np.ndarray:
    """P(delay = 0, 1, 2, ... periods) from what the plan knows of the supplier, its delay's mean and std: a rounded
    Normal whose own std is chosen so that the whole-period delays have that std (moment matching)."""
    mean, std = float(store.products.lead_time_mean[0]), float(store.products.lead_time_std[0])
    support = np.arange(0, int(np.ceil(mean + 6 * std)) + 2)
    if std < 1e-9:
        return (support == round(mean)).astype(float)

    def rounded_normal(width: float) -> np.ndarray:
        weights = np.exp(-0.5 * ((support - mean) / width) ** 2)
        return weights / weights.sum()

    def std_gap(width: float) -> float:
        weights = rounded_normal(width)
        return float(np.sqrt(weights @ support**2 - (weights @ support) ** 2)) - std

    return rounded_normal(brentq(std_gap, 1e-3, 10 * std + 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spread", type=float, default=1.0, help="multiply the forecast's sigma (1.0)")
    parser.add_argument("--horizon", type=int, default=12, help="months in the program (12)")
    parser.add_argument("--shift", type=int, default=0, help="end every series this many months earlier (0)")
    parser.add_argument("--seed", type=int, default=7, help="supplier delays, as make bench-inventory (7)")
    parser.add_argument("--verbose", action="store_true", help="one line per series, with the cost breakdown")
    args = parser.parse_args()
    for lead_time_std in (0.0, 0.5):
        totals = {"dynamic": 0.0, "naive": 0.0}
        for store in real_stores(args.seed, lead_time_std, months_earlier=args.shift):
            initial, common = replay_setup(store)
            costs = common["costs"]
            rule = DynamicReorderRule(
                builtin_forecaster(store.season), holding=float(costs.holding_per_unit_period[0]),  # type: ignore[attr-defined]
                shortage=float(costs.shortage_per_unit[0]), order_cost=float(costs.order_cost[0]),  # type: ignore[attr-defined]
                lead_probabilities=lead_probabilities(store), horizon=args.horizon, spread=args.spread)
            history, replay = store.demand[: store.warmup], store.demand[store.warmup:]
            dynamic = simulate_inventory(replay, rule, initial_on_hand=initial, history=history, **common)  # type: ignore[arg-type]
            naive = simulate_inventory(replay, NaiveLastPeriodSales(), initial_on_hand=initial, history=history,
                                       **common)  # type: ignore[arg-type]
            cost, naive_cost = float(dynamic.total_cost.sum()), float(naive.total_cost.sum())
            totals["dynamic"] += cost
            totals["naive"] += naive_cost
            if args.verbose:
                print(f"lead 1 +- {lead_time_std}  {store.name:18s} dynamic {cost:6.0f}  naive {naive_cost:6.0f}  "
                      f"saved {1 - cost / naive_cost:+.1%}  (holding {dynamic.holding_cost.sum():.0f}, ordering "
                      f"{dynamic.ordering_cost.sum():.0f}, lost sales {dynamic.shortage_cost.sum():.0f})")
        print(f"lead 1 +- {lead_time_std}  all three  dynamic {totals['dynamic']:6.0f}  naive {totals['naive']:6.0f}  "
              f"saved {1 - totals['dynamic'] / totals['naive']:+.1%}   (spread x{args.spread}, shift {args.shift})")
    print(f"Reproduce: .venv/bin/python bench/explore_dynamic_policy.py --spread {args.spread} "
          f"--horizon {args.horizon} --shift {args.shift} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
