"""The plan service: from the latest forecast and the store's stock to a new, versioned reorder plan.

    plan = reorder_plan_create(tenant=tenant, progress=progress)   # inside tenant_context(tenant)

Steps: take the latest *succeeded* forecast run and every stocked product with a product-level forecast; convert
lead times and the review period from days into forecast periods; let the engine compute each product's policy
(newsvendor fractile or service level, safety stock, reorder point, EOQ, (s, S)) and, if the suggested orders break
the budget or the free warehouse volume, choose quantities with its MILP (HiGHS); simulate the plan and the naive
rule on sampled forecast demand; write the plan and its lines in one transaction and make it active only at the
end. Inputs the engine refuses (malformed data, a warehouse already over capacity, an infeasible optimization) give
a *failed* plan carrying the explanation; the active plan keeps serving. No forecast or no stock yet raises
`NothingToPlan` (nothing is written).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from django.db import transaction
from django.utils import timezone

from forecasting.models import ForecastRun, SeriesForecast, SeriesLevel
from inventory.engine import (
    InventoryInputError,
    PlanSettings,
    ProductInventoryInput,
    ReorderPlanResult,
    reorder_plan_compute,
)
from inventory.engine.policy import PolicyRule
from retailsite.commerce.models import Product
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.training_steps import Progress, silent_progress

from .models import InboundShipment, ReorderPlan, ReorderPlanLine, StockItem
from .selectors import (
    SupplyTerms,
    latest_succeeded_forecast_run,
    shipments_in_transit,
    stock_item_list,
    stock_item_terms,
)
from .services import reorder_plan_activate
from .simulation import PlanSimulation, PlanSimulationInput, simulate_plan_against_naive

logger = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.25
PERIOD_DAYS = {"D": 1.0, "W": 7.0, "M": DAYS_PER_YEAR / 12}
SIMULATION_SEED = 20_240_601
LINE_BATCH = 2_000
MAX_SKIPPED_LISTED = 200


class NothingToPlan(Exception):
    """There is no forecast or no stock to plan from yet; nothing was written."""


@dataclass
class _Candidate:
    """A stocked product that can be planned, with everything the engine and the simulator need."""

    item: StockItem
    product: Product
    terms: SupplyTerms
    in_transit: float
    unit_cost: float
    p10: list[float]
    p50: list[float]
    p90: list[float]
    last_values: list[float]  # recent actual sales per period, oldest first
    shipments: list[InboundShipment] = field(default_factory=list)


@dataclass(frozen=True)
class _TimeBase:
    frequency: str
    period_days: float
    review_days: int
    today: dt.date

    @property
    def review_periods(self) -> float:
        return self.review_days / self.period_days

    @property
    def review_periods_whole(self) -> int:
        """The review period as a whole number of periods, for the simulator and the chart."""
        return max(1, round(self.review_periods))

    @property
    def periods_per_year(self) -> float:
        return DAYS_PER_YEAR / self.period_days

    def periods(self, days: float) -> float:
        return days / self.period_days


def reorder_plan_create(*, tenant: Tenant, progress: Progress = silent_progress) -> ReorderPlan:
    """Compute and store a new plan for the current tenant (see the module docstring). Returns it, active or failed."""
    progress("loading the forecast and the stock")
    run = latest_succeeded_forecast_run()
    if run is None:
        raise NothingToPlan(
            "no succeeded forecast run yet: run the forecasts step first "
            "(manage.py train --tenant SLUG --only forecasts)"
        )
    items = list(stock_item_list())
    if not items:
        raise NothingToPlan("no stock yet: import it first (manage.py import_data --tenant SLUG --stock FILE)")
    context: dict[str, Any] = {
        "forecast_run": run,
        "frequency": run.frequency,
        "review_period_days": int(tenant.setting("review_period_days")),
    }
    try:
        return _plan(tenant, run, items, context, progress)
    except Exception as error:
        # A bug or a database failure: record it so staff see why no new plan appeared, then let it surface.
        logger.exception("reorder plan failed for tenant %s", tenant.slug)
        _record_failed(context, f"The plan could not be computed ({type(error).__name__}: {error}).")
        raise


def _plan(
    tenant: Tenant, run: ForecastRun, items: list[StockItem], context: dict[str, Any], progress: Progress
) -> ReorderPlan:
    period_days = PERIOD_DAYS.get(run.frequency)
    if period_days is None:
        return _record_failed(
            context,
            f"Forecast run {run.pk} has an unknown frequency {run.frequency!r}; "
            f"expected one of {', '.join(PERIOD_DAYS)}.",
        )
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    time = _TimeBase(
        run.frequency, period_days, int(tenant.setting("review_period_days")), timezone.now().astimezone(zone).date()
    )
    context["period_days"] = period_days

    candidates, skipped, periods = _candidates(run, items, time)
    budget = float(tenant.setting("inventory_budget")) or None
    capacity = float(tenant.setting("warehouse_capacity")) or None
    free_volume = None
    if capacity is not None:
        in_transit = {c.item.product_id: c.in_transit for c in candidates}
        stored = sum(
            item.unit_volume * (item.on_hand + item.on_order + in_transit.get(item.product_id, 0.0)) for item in items
        )
        free_volume = capacity - stored
    context.update(
        budget=budget,
        warehouse_capacity=capacity,
        free_volume=free_volume,
        periods=periods,
        skipped=skipped[:MAX_SKIPPED_LISTED],
        n_products=len(candidates),
    )
    if not candidates:
        reasons = "; ".join(entry["reason"] for entry in skipped[:3])
        return _record_failed(
            context,
            f"No stocked product can be planned from forecast run {run.pk} ({len(skipped)} skipped, e.g. {reasons}).",
        )

    progress(f"computing policies for {len(candidates):,} products")
    inputs = [_engine_input(candidate, tenant, time) for candidate in candidates]
    settings = PlanSettings(
        review_period=time.review_periods,
        periods_per_year=time.periods_per_year,
        rule=cast(PolicyRule, tenant.setting("reorder_rule")),  # PlanSettings refuses any other value
    )
    try:
        engine_plan = reorder_plan_compute(inputs, settings, budget=budget, volume_capacity=free_volume)
    except InventoryInputError as error:
        explanation = f"The inputs cannot be planned: {error}"
        if capacity is not None and free_volume is not None and free_volume < 0:
            explanation = (
                f"The warehouse is over capacity: {capacity - free_volume:,.2f} volume is on hand and on "
                f"the way, but the capacity is {capacity:,.2f}. Raise warehouse_capacity or reduce the "
                f"stock before planning. ({explanation})"
            )
        return _record_failed(context, explanation, solver_status="invalid_input")
    optimization = engine_plan.optimization
    context.update(
        solver_status=optimization.status if optimization else "not_needed", solver_message=engine_plan.message
    )
    if optimization is not None and not optimization.ok:
        return _record_failed(context, engine_plan.message)

    progress("simulating the plan and the naive rule")
    simulation = _simulate(candidates, engine_plan, time)
    return _write(candidates, engine_plan, simulation, time, context, progress)


def _candidates(
    run: ForecastRun, items: list[StockItem], time: _TimeBase
) -> tuple[list[_Candidate], list[dict[str, str]], list[str]]:
    """Stocked products that can be planned, the skipped ones with a reason, and the planned periods' start dates."""
    product_ids = [item.product_id for item in items]
    forecasts = {
        row["product_id"]: row
        for row in SeriesForecast.objects.filter(run=run, level=SeriesLevel.PRODUCT, product_id__in=product_ids).values(
            "product_id", "periods", "p10", "p50", "p90", "history"
        )
    }
    shipments: dict[int, list[InboundShipment]] = {}
    for shipment in shipments_in_transit(product_ids):
        shipments.setdefault(shipment.product_id, []).append(shipment)

    candidates: list[_Candidate] = []
    skipped: list[dict[str, str]] = []
    planned_periods: list[str] = []
    offsets: dict[tuple[str, ...], int] = {}

    def skip(product: Product, reason: str) -> None:
        skipped.append({"product_id": product.external_id, "reason": f"{product.external_id}: {reason}"})

    for item in items:
        product = item.product
        if not product.active:
            skip(product, "inactive product")
            continue
        unit_cost = item.unit_cost if item.unit_cost is not None else product.cost
        if unit_cost is None or unit_cost <= 0:
            skip(product, "no unit cost (set the stock's unit_cost or the product's cost)")
            continue
        row = forecasts.get(item.product_id)
        if row is None:
            skip(product, f"no product forecast in forecast run {run.pk}")
            continue
        problem, offset = _forecast_problem(row, time, offsets)
        if problem:
            skip(product, problem)
            continue
        if not planned_periods:
            planned_periods = [str(start) for start in row["periods"][offset:]]
        history = row.get("history") or {}
        values = history.get("values") if isinstance(history, dict) else None
        last_values = [float(v) for v in values if _is_number(v)] if isinstance(values, list) else []
        product_shipments = shipments.get(item.product_id, [])
        candidates.append(
            _Candidate(
                item=item,
                product=product,
                terms=stock_item_terms(item, item.supplier),
                unit_cost=float(unit_cost),
                in_transit=float(sum(s.quantity for s in product_shipments)),
                p10=row["p10"][offset:],
                p50=row["p50"][offset:],
                p90=row["p90"][offset:],
                last_values=last_values,
                shipments=product_shipments,
            )
        )
    return candidates, skipped, planned_periods


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _forecast_problem(row: dict[str, Any], time: _TimeBase, offsets: dict[tuple[str, ...], int]) -> tuple[str, int]:
    """('', offset) for a usable forecast, where `offset` skips periods already over; else (why not, 0).

    `offsets` caches the offset per list of period starts (every series of a run usually shares one).
    """
    lists = [values for values in (row.get(name) for name in ("p10", "p50", "p90")) if isinstance(values, list)]
    if len(lists) != 3 or not lists[1]:
        return "the forecast has no periods", 0
    if len({len(values) for values in lists}) != 1:
        return "the forecast's P10, P50 and P90 differ in length", 0
    try:
        quantiles = np.array(lists, dtype=float)
    except (TypeError, ValueError):
        quantiles = np.full((3, 1), np.nan)
    if not np.isfinite(quantiles).all() or (quantiles < 0).any():
        return "the forecast has a missing, negative or non-finite quantile", 0
    p10, p50, p90 = quantiles
    tolerance = 1e-9 * np.maximum(p90, 1.0)
    if ((p10 > p50 + tolerance) | (p50 > p90 + tolerance)).any():
        return "the forecast's quantiles are not ordered (P10 <= P50 <= P90)", 0
    periods = tuple(str(value) for value in (row.get("periods") or [])[: len(p50)])
    key = (*periods, str(len(p50)))
    if key not in offsets:
        offsets[key] = _periods_over(periods, len(p50), time)
    return "", offsets[key]


def _periods_over(periods: Sequence[str], horizon: int, time: _TimeBase) -> int:
    """How many leading forecast periods ended before today (they are not planned; at least one period is kept)."""
    starts: list[dt.date] = []
    for value in periods[:horizon]:
        try:
            starts.append(dt.date.fromisoformat(value[:10]))
        except ValueError:
            return 0
    over = 0
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else start + dt.timedelta(days=time.period_days)
        if end <= time.today:
            over = index + 1
    return min(over, horizon - 1)


def _service_level(item: StockItem, tenant: Tenant) -> float | None:
    """A product's target, else the newsvendor fractile when it has a stockout cost, else the store's default."""
    if item.service_level is not None:
        return float(item.service_level)
    if item.stockout_cost and item.stockout_cost > 0:
        return None
    return float(tenant.setting("default_service_level"))


def _engine_input(candidate: _Candidate, tenant: Tenant, time: _TimeBase) -> ProductInventoryInput:
    item, terms = candidate.item, candidate.terms
    return ProductInventoryInput(
        product_id=candidate.product.external_id,
        p10=candidate.p10,
        p50=candidate.p50,
        p90=candidate.p90,
        on_hand=float(item.on_hand),
        on_order=float(item.on_order) + candidate.in_transit,
        unit_cost=candidate.unit_cost,
        unit_price=float(candidate.product.price or 0),
        stockout_cost=float(item.stockout_cost or 0),
        holding_cost_rate=float(item.holding_cost_rate),
        order_cost=terms.order_cost,
        lead_time_mean=time.periods(terms.lead_time_days),
        lead_time_std=time.periods(terms.lead_time_std_days),
        min_order_qty=float(terms.min_order_qty),
        pack_size=float(terms.pack_size),
        unit_volume=float(item.unit_volume),
        service_level=_service_level(item, tenant),
    )


def _scheduled_arrivals(candidate: _Candidate, time: _TimeBase) -> list[float]:
    """Units already on the way per period: shipments at their expected period, on order after the lead time."""
    arrivals: dict[int, float] = {}
    for shipment in candidate.shipments:
        days = (shipment.expected_arrival - time.today).days
        period = max(0, math.floor(days / time.period_days))
        arrivals[period] = arrivals.get(period, 0.0) + float(shipment.quantity)
    if candidate.item.on_order > 0:
        period = max(0, round(time.periods(candidate.terms.lead_time_days)))
        arrivals[period] = arrivals.get(period, 0.0) + float(candidate.item.on_order)
    if not arrivals:
        return []
    schedule = [0.0] * (max(arrivals) + 1)
    for period, units in arrivals.items():
        schedule[period] = units
    return schedule


def _simulate(candidates: list[_Candidate], engine_plan: ReorderPlanResult, time: _TimeBase) -> PlanSimulation | None:
    policy = engine_plan.policy
    schedules = [_scheduled_arrivals(candidate, time) for candidate in candidates]
    depth = max((len(schedule) for schedule in schedules), default=0)
    arrivals = np.zeros((depth, len(candidates)))
    for column, schedule in enumerate(schedules):
        arrivals[: len(schedule), column] = schedule
    review = time.review_periods_whole
    lead_mean = np.array([time.periods(c.terms.lead_time_days) for c in candidates])
    lead_std = np.array([time.periods(c.terms.lead_time_std_days) for c in candidates])
    p50_first = np.array([c.p50[0] for c in candidates], dtype=float)
    last_sales = np.array(
        [sum(c.last_values[-review:]) if c.last_values else p50_first[i] * review for i, c in enumerate(candidates)]
    )
    horizon = max(len(c.p50) for c in candidates)

    def padded(name: str) -> np.ndarray:
        return np.array(
            [getattr(c, name) + [getattr(c, name)[-1]] * (horizon - len(getattr(c, name))) for c in candidates],
            dtype=float,
        )

    periods = max(horizon, math.ceil(2 * (float(lead_mean.max()) + review)) + 1)
    data = PlanSimulationInput(
        p10=padded("p10"),
        p50=padded("p50"),
        p90=padded("p90"),
        on_hand=np.array([float(c.item.on_hand) for c in candidates]),
        arrivals=arrivals,
        lead_time_mean=lead_mean,
        lead_time_std=lead_std,
        review_period=review,
        pack_size=np.array([float(c.terms.pack_size) for c in candidates]),
        min_order_qty=np.array([float(c.terms.min_order_qty) for c in candidates]),
        first_order=np.array([line.order_quantity for line in engine_plan.lines]),
        reorder_point=policy.reorder_point,
        order_up_to=policy.order_up_to,
        last_review_sales=last_sales,
        holding_per_unit_period=policy.holding_cost_per_period,
        order_cost=np.array([c.terms.order_cost for c in candidates]),
        shortage_per_unit=policy.underage_cost,
        unit_cost=np.array([c.unit_cost for c in candidates]),
    )
    try:
        return simulate_plan_against_naive(data, periods=periods, seed=SIMULATION_SEED)
    except InventoryInputError as error:
        # The plan stands without its simulated figures; say why they are missing.
        logger.warning("simulation skipped: %s", error)
        return None


def _record_failed(context: dict[str, Any], explanation: str, **extra: Any) -> ReorderPlan:
    """Store a failed plan with the explanation; the active plan is not touched."""
    fields = {
        name: value
        for name, value in {**context, **extra}.items()
        if name in {f.name for f in ReorderPlan._meta.concrete_fields}
    }
    with transaction.atomic():
        return ReorderPlan.objects.create(status=ReorderPlan.Status.FAILED, error=explanation, **fields)


def _write(
    candidates: list[_Candidate],
    engine_plan: ReorderPlanResult,
    simulation: PlanSimulation | None,
    time: _TimeBase,
    context: dict[str, Any],
    progress: Progress,
) -> ReorderPlan:
    policy = engine_plan.policy
    lines = engine_plan.lines
    sim_figures = simulation.as_dict() if simulation is not None else {"error": "the simulation could not run"}
    with transaction.atomic():
        plan = ReorderPlan.objects.create(
            status=ReorderPlan.Status.DRAFT,
            suggested_value=engine_plan.suggested_value,
            suggested_volume=engine_plan.suggested_volume,
            order_value=engine_plan.order_value,
            order_volume=engine_plan.order_volume,
            n_to_order=len(engine_plan.lines_to_order()),
            simulation=sim_figures,
            **context,
        )
        rows: list[ReorderPlanLine] = []
        for index, (candidate, line) in enumerate(zip(candidates, lines, strict=True)):
            terms = candidate.terms
            rows.append(
                ReorderPlanLine(
                    tenant_id=plan.tenant_id,
                    plan=plan,
                    product=candidate.product,
                    supplier_id=candidate.item.supplier_id,
                    on_hand=line.on_hand,
                    on_order=float(candidate.item.on_order),
                    in_transit=candidate.in_transit,
                    inventory_position=line.inventory_position,
                    unit_cost=candidate.unit_cost,
                    unit_price=float(candidate.product.price or 0),
                    unit_volume=float(candidate.item.unit_volume),
                    holding_cost_per_period=float(policy.holding_cost_per_period[index]),
                    order_cost=terms.order_cost,
                    min_order_qty=float(terms.min_order_qty),
                    pack_size=float(terms.pack_size),
                    lead_time_days=terms.lead_time_days,
                    lead_time_std_days=terms.lead_time_std_days,
                    lead_time_periods=line.lead_time_mean,
                    lead_time_std_periods=line.lead_time_std,
                    review_period=line.review_period,
                    protection_periods=line.protection_periods,
                    mean_demand_per_period=line.mean_demand_per_period,
                    demand_lead_time_mean=line.mean_demand_lead_time,
                    demand_lead_time_std=line.std_demand_lead_time,
                    demand_protection_mean=line.mean_demand_protection,
                    demand_protection_std=line.std_demand_protection,
                    demand_p50=[round(float(v), 4) for v in candidate.p50],
                    scheduled_arrivals=_scheduled_arrivals(candidate, time),
                    underage_cost=line.underage_cost,
                    overage_cost=line.overage_cost,
                    order_cycle_periods=line.order_cycle_periods,
                    critical_fractile=line.critical_fractile,
                    service_level_source=line.service_level_source,
                    safety_stock=line.safety_stock,
                    reorder_point=line.reorder_point,
                    order_up_to=line.order_up_to,
                    eoq=line.eoq,
                    lot_size=line.lot_size,
                    policy_rule=line.policy_rule,
                    dynamic_reviews=line.dynamic_reviews,
                    program_shortage_cost=line.program_shortage_cost,
                    cost_with_order=line.cost_with_order,
                    cost_without_order=line.cost_without_order,
                    suggested_quantity=line.suggested_quantity,
                    order_quantity=line.order_quantity,
                    expected_fill_rate=line.expected_fill_rate,
                    order_value=line.order_value,
                    order_volume=line.order_volume,
                    simulated_cost=_at(simulation.plan.product_cost if simulation else None, index),
                    simulated_fill_rate=_at(simulation.plan.product_fill_rate if simulation else None, index),
                    naive_simulated_cost=_at(simulation.naive.product_cost if simulation else None, index),
                    naive_simulated_fill_rate=_at(simulation.naive.product_fill_rate if simulation else None, index),
                )
            )
        for start in range(0, len(rows), LINE_BATCH):
            ReorderPlanLine.objects.bulk_create(rows[start : start + LINE_BATCH])
            progress("writing plan lines", min(start + LINE_BATCH, len(rows)), len(rows))
        # Last: the new plan replaces the active one only once every line is written.
        reorder_plan_activate(plan=plan)
    return plan


def _at(values: np.ndarray | None, index: int) -> float | None:
    if values is None:
        return None
    value = float(values[index])
    return value if math.isfinite(value) else None
