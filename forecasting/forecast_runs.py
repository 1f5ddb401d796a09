"""Demand forecasts for one store: read its order history, forecast every product, category and the store total,
and store them as a new versioned run.

The history is aggregated in PostgreSQL (units and revenue per product and period, periods in the store's time
zone, weeks starting on Monday) and ends with the
last complete period (see ``periods.last_complete_period``: today's period is never history). Every active product is
forecast — products with little or no history through the engine's category path (their category's demand times
their share of it) — and so is every category (a category's demand includes its sub-categories) and the store
total. Orders of every customer count: this is the store's demand, not a personal profile.

The engine (``forecasting.engine.forecast.forecast_many``) is called in batches of whole categories, so that a
category's price elasticity is pooled over all its products and its history is forecast once for its new products.
The rows are written in bulk and the run is marked succeeded in the same transaction at the very end; a failure
marks it failed, and serving keeps reading the previous succeeded run.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import multiprocessing
import os
import time
import zoneinfo
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from threadpoolctl import threadpool_limits

from forecasting.engine.demand_global import GLOBAL_METHOD, GlobalPaths
from forecasting.engine.demand_metrics import BacktestMetrics
from forecasting.engine.forecast import (
    DemandForecast,
    ForecastConfig,
    SeriesInput,
    default_min_history,
    forecast_many,
    global_model_paths,
    season_length_for,
    summarize_backtests,
)
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.training_steps import Progress, silent_progress

from .models import ForecastRun, RunStatus, SeriesForecast, SeriesLevel
from .periods import (
    DATE_TRUNC_FIELD,
    last_complete_period,
    period_indices,
    period_sequence,
    periods_between,
    shift_period,
)

logger = logging.getLogger(__name__)

SeriesKey = tuple[str, int]  # (level, product or category id; 0 for the store total)
TOTAL_KEY: SeriesKey = (SeriesLevel.TOTAL.value, 0)

# Recent actuals kept with each forecast for the charts.
HISTORY_SHOWN = {"D": 120, "W": 104, "M": 48}
# Series per engine call: batches are whole categories, at least this many series (fewer, larger batches amortize
# the process pool; bounded batches keep memory flat and let progress move).
BATCH_SERIES = 1500
WRITE_BATCH = 2000
FETCH_ROWS = 100_000
KEEP_SUCCEEDED_RUNS = 3  # older runs are deleted once a new one succeeds
ROUND_UNITS = 3
ROUND_FIGURES = 5


class NotEnoughHistory(ValueError):
    """The store has no complete period of orders yet (or no orders at all)."""


@dataclass
class DemandHistory:
    """A store's demand per period: every product of the catalog (active or not), every category, and the total."""

    frequency: str
    first_period: dt.date
    n_periods: int
    data_cutoff: dt.date  # last day of the last (complete) period
    product_ids: npt.NDArray[np.int64]  # sorted
    product_active: npt.NDArray[np.bool_]
    product_category: npt.NDArray[np.int64]  # Category.id, 0 when none
    units: npt.NDArray[np.float64]  # (products, periods)
    revenue: npt.NDArray[np.float64]  # (products, periods)
    category_ids: npt.NDArray[np.int64]  # sorted
    # (categories, products): 1 where the product sits in the category or one of its sub-categories
    category_members: sp.csr_matrix

    @cached_property
    def period_starts(self) -> list[dt.date]:
        return period_sequence(self.first_period, self.frequency, self.n_periods)

    @cached_property
    def last_period(self) -> dt.date:
        return self.period_starts[-1]

    @cached_property
    def category_units(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.category_members @ self.units)

    @cached_property
    def total_units(self) -> npt.NDArray[np.float64]:
        return self.units.sum(axis=0)

    @cached_property
    def average_prices(self) -> npt.NDArray[np.float64]:
        """Average unit price paid per product and period (NaN without sales): the engine's price input."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.units > 0, self.revenue / self.units, np.nan)


# ---------------------------------------------------------------------------------------------------- reading


def _local_today(tenant: Tenant) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()


def _period_boundary(day: dt.date, tenant: Tenant) -> dt.datetime:
    """Midnight at the start of ``day`` in the store's time zone, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(tenant.timezone))


def _fetchall(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _rows(sql: str, params: list[Any]) -> Iterator[list[tuple[Any, ...]]]:
    """The query's rows in batches, so that a million rows never become a million Python tuples at once."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH_ROWS):
            yield batch


@dataclass
class _Sales:
    """Units and revenue per (product, period start), one entry per pair."""

    product_ids: npt.NDArray[np.int64]
    period_days: npt.NDArray[np.datetime64]  # period starts, datetime64[D]
    units: npt.NDArray[np.float64]
    revenue: npt.NDArray[np.float64]


def _sales_from_postgresql(tenant: Tenant, freq: str, before: dt.datetime) -> _Sales:
    """Aggregated in the database: period starts in the store's time zone (date_trunc weeks start on Monday)."""
    sql = (
        "SELECT l.product_id, "
        "       (date_trunc(%s, o.ordered_at AT TIME ZONE %s)::date - DATE '1970-01-01') AS period_day, "
        "       sum(l.quantity)::float8, sum(l.quantity * l.unit_price)::float8 "
        "FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id AND o.tenant_id = l.tenant_id "
        "WHERE l.tenant_id = %s AND o.ordered_at < %s "
        "GROUP BY 1, 2"
    )
    chunks = [
        np.asarray(batch, dtype=np.float64).reshape(-1, 4)
        for batch in _rows(sql, [DATE_TRUNC_FIELD[freq], tenant.timezone, tenant.id, before])
    ]
    table = np.concatenate(chunks) if chunks else np.empty((0, 4))
    return _Sales(
        product_ids=table[:, 0].astype(np.int64),
        period_days=table[:, 1].astype(np.int64).astype("datetime64[D]"),
        units=table[:, 2],
        revenue=table[:, 3],
    )


def _category_membership(
    category_rows: list[tuple[int, int]], product_category: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], sp.csr_matrix]:
    """Category ids and the (category x product) matrix of "product is in this category or below it"."""
    parent = dict(category_rows)
    category_ids = np.asarray(sorted(parent), dtype=np.int64)
    position = {category_id: i for i, category_id in enumerate(category_ids.tolist())}
    ancestors: dict[int, list[int]] = {}
    for category_id in parent:
        chain, node, seen = [], category_id, set()
        while node and node in parent and node not in seen:  # `seen` guards against a corrupt cycle
            seen.add(node)
            chain.append(position[node])
            node = parent[node]
        ancestors[category_id] = chain
    rows, columns = [], []
    for product_index, category_id in enumerate(product_category.tolist()):
        for category_index in ancestors.get(category_id, ()):
            rows.append(category_index)
            columns.append(product_index)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(category_ids), len(product_category)))
    return category_ids, matrix


def load_demand_history(tenant: Tenant, *, today: dt.date | None = None) -> DemandHistory:
    """Read the store's demand per period (run inside the tenant's context). Raises NotEnoughHistory."""
    freq = str(tenant.setting("forecast_frequency"))
    today = today or _local_today(tenant)
    with transaction.atomic():
        products = _fetchall(
            "SELECT id, coalesce(category_id, 0), active FROM commerce_product WHERE tenant_id = %s ORDER BY id",
            [tenant.id],
        )
        category_rows = [
            (int(cid), int(parent or 0))
            for cid, parent in _fetchall(
                "SELECT id, parent_id FROM commerce_category WHERE tenant_id = %s", [tenant.id]
            )
        ]
        last_order = _fetchall("SELECT max(ordered_at) FROM commerce_order WHERE tenant_id = %s", [tenant.id])[0][0]
        if last_order is None:
            raise NotEnoughHistory("no orders yet")
        if timezone.is_naive(last_order):
            last_order = timezone.make_aware(last_order, dt.UTC)
        data_end = last_order.astimezone(zoneinfo.ZoneInfo(tenant.timezone)).date()
        last_period = last_complete_period(data_end, today, freq)
        before = _period_boundary(shift_period(last_period, freq, 1), tenant)
        sales = _sales_from_postgresql(tenant, freq, before)
    if not len(sales.units):
        raise NotEnoughHistory("no complete period of orders yet")

    first_period: dt.date = sales.period_days.min().item()
    n_periods = periods_between(first_period, last_period, freq)
    product_ids = np.asarray([row[0] for row in products], dtype=np.int64)
    product_category = np.asarray([row[1] for row in products], dtype=np.int64)
    product_active = np.asarray([bool(row[2]) for row in products], dtype=bool)
    rows = np.minimum(np.searchsorted(product_ids, sales.product_ids), max(len(product_ids) - 1, 0))
    # Each statement sees its own snapshot (READ COMMITTED): a product created between the two reads is left out.
    known = product_ids[rows] == sales.product_ids if len(product_ids) else np.zeros(len(rows), dtype=bool)
    columns = period_indices(sales.period_days, first_period, freq)
    units = np.zeros((len(product_ids), n_periods))
    revenue = np.zeros((len(product_ids), n_periods))
    units[rows[known], columns[known]] = sales.units[known]
    revenue[rows[known], columns[known]] = sales.revenue[known]
    category_ids, members = _category_membership(category_rows, product_category)
    return DemandHistory(
        frequency=freq,
        first_period=first_period,
        n_periods=n_periods,
        data_cutoff=shift_period(last_period, freq, 1) - dt.timedelta(days=1),
        product_ids=product_ids,
        product_active=product_active,
        product_category=product_category,
        units=units,
        revenue=revenue,
        category_ids=category_ids,
        category_members=members,
    )


# ---------------------------------------------------------------------------------------------------- engine input


def series_inputs(history: DemandHistory, *, min_priced_periods: int) -> list[dict[SeriesKey, SeriesInput]]:
    """The engine's input, in batches of whole categories; the category and total series come last.

    An active product gets its category's demand (or the store's, without a category) as the reference for the
    new-product path, with the number of active products sharing it. Its average prices (for its elasticity) go
    along once it has sold for ``min_priced_periods`` periods: a few weeks since launch say little about price, and
    the log-linear fit degenerates on them; such products take their category's elasticity instead.
    """
    last = history.last_period
    category_units = history.category_units
    active_per_category = np.asarray(history.category_members @ history.product_active.astype(float)).ravel()
    category_position = {int(c): i for i, c in enumerate(history.category_ids.tolist())}
    total = history.total_units
    n_active = int(history.product_active.sum())
    prices = history.average_prices

    by_category: dict[int, list[int]] = {}
    for index in np.flatnonzero(history.product_active).tolist():
        by_category.setdefault(int(history.product_category[index]), []).append(index)
    batches: list[dict[SeriesKey, SeriesInput]] = []
    batch: dict[SeriesKey, SeriesInput] = {}
    for category_id, indices in sorted(by_category.items()):
        position = category_position.get(category_id)
        reference = category_units[position] if position is not None else total
        sharing = int(active_per_category[position]) if position is not None else n_active
        for index in indices:
            sold = np.flatnonzero(history.units[index] > 0)
            active_periods = history.n_periods - int(sold[0]) if len(sold) else 0
            batch[(SeriesLevel.PRODUCT.value, int(history.product_ids[index]))] = SeriesInput(
                demand=history.units[index],
                prices=prices[index] if active_periods >= min_priced_periods else None,
                price_group=category_id or None,
                category_history=reference,
                category_product_count=max(sharing, 1),
                last_period_start=last,
            )
        if len(batch) >= BATCH_SERIES:
            batches.append(batch)
            batch = {}
    if batch:
        batches.append(batch)
    aggregates: dict[SeriesKey, SeriesInput] = {
        (SeriesLevel.CATEGORY.value, int(category_id)): SeriesInput(category_units[i], last_period_start=last)
        for i, category_id in enumerate(history.category_ids.tolist())
    }
    aggregates[TOTAL_KEY] = SeriesInput(total, last_period_start=last)
    batches.append(aggregates)
    return batches


def _forecast_batch(
    batch: dict[SeriesKey, SeriesInput],
    freq: str,
    horizon: int,
    config: ForecastConfig,
    notes: list[str],
    global_paths: Mapping[SeriesKey, GlobalPaths] | None,
) -> dict[SeriesKey, DemandForecast]:
    """One engine call. Should the price-elasticity fit fail numerically, the batch is forecast again without prices:
    the forecasts matter more than the elasticities (the run's notes say which products went without)."""
    if all(key[0] != SeriesLevel.PRODUCT.value for key in batch):
        # The store total and the categories are never served worse than the seasonal naive in their own backtest.
        config = replace(config, serve_naive_when_better=True)
    try:
        return forecast_many(batch, freq, horizon, config, global_paths=global_paths)
    except np.linalg.LinAlgError as error:
        priced = [key for key, item in batch.items() if item.prices is not None]
        if not priced:
            raise
        logger.warning("elasticity fit failed (%s); forecasting %d series without prices", error, len(batch))
        notes.append(f"elasticities not estimated for {len(priced)} products ({error}); category figures used")
        unpriced = {key: replace(item, prices=None) for key, item in batch.items()}
        return forecast_many(unpriced, freq, horizon, config, global_paths=global_paths)


def engine_processes() -> int:
    """Processes for the engine's model fits: none extra inside a daemon (a Celery prefork worker may not fork)."""
    if multiprocessing.current_process().daemon:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


# ---------------------------------------------------------------------------------------------------- storing


def _number(value: float | None, digits: int = ROUND_FIGURES) -> float | None:
    """JSON-safe: NaN and infinities become null (PostgreSQL's jsonb has no NaN)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _units(values: npt.ArrayLike) -> list[float]:
    return [round(float(v), ROUND_UNITS) for v in np.asarray(values, dtype=float)]


def backtest_figures(metrics: BacktestMetrics | None) -> dict[str, float | int | None]:
    if metrics is None:
        return {}
    return {
        "mase": _number(metrics.mase),
        "wape": _number(metrics.wape),
        "rmse": _number(metrics.rmse),
        "pinball": _number(metrics.pinball),
        "scaled_pinball": _number(metrics.scaled_pinball),
        "coverage": _number(metrics.interval_coverage),
        "below_p10": _number(metrics.share_below_p10),
        "below_p90": _number(metrics.share_below_p90),
        "at_or_below_p10": _number(metrics.share_at_or_below_p10),
        "at_or_below_p90": _number(metrics.share_at_or_below_p90),
        "n_windows": metrics.n_windows,
        "n_points": metrics.n_points,
    }


def _summary_figures(forecasts: Mapping[SeriesKey, DemandForecast], *, baseline: bool) -> dict[str, Any]:
    summary = asdict(summarize_backtests(forecasts, baseline=baseline))
    return {key: (_number(value) if isinstance(value, float) else value) for key, value in summary.items()}


def _weighted_elasticities(
    history: DemandHistory, product_elasticity: npt.NDArray[np.float64], season_length: int
) -> tuple[npt.NDArray[np.float64], float | None]:
    """A category's (and the store's) elasticity: its products' elasticities weighted by their recent units.

    A uniform small price change across the category moves its demand by about this much, in percent per percent.
    """
    recent = history.units[:, -min(season_length, history.n_periods) :].sum(axis=1)
    usable = np.isfinite(product_elasticity) & history.product_active
    weights = np.where(usable, recent, 0.0)
    values = np.where(usable, product_elasticity, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        categories = (
            np.asarray(history.category_members @ (weights * values)).ravel()
            / np.asarray(history.category_members @ weights).ravel()
        )
    total = float((weights * values).sum() / weights.sum()) if weights.sum() > 0 else None
    return categories, total


def _series_row(
    run: ForecastRun,
    key: SeriesKey,
    forecast: DemandForecast,
    history: DemandHistory,
    actuals: npt.NDArray[np.float64],
    future: list[dt.date],
    category_id: int | None,
    elasticity: float | None,
    elasticity_source: str,
) -> SeriesForecast:
    level, object_id = key
    shown = min(HISTORY_SHOWN[history.frequency], history.n_periods)
    backtest: dict[str, Any] = backtest_figures(forecast.backtest)
    if forecast.baseline_backtest is not None:
        backtest["baseline"] = backtest_figures(forecast.baseline_backtest)
    if forecast.global_backtest is not None:
        backtest["global"] = backtest_figures(forecast.global_backtest)
    if forecast.notes:
        backtest["why"] = " ".join(forecast.notes)
    return SeriesForecast(
        tenant_id=run.tenant_id,
        run=run,
        level=level,
        product_id=object_id if level == SeriesLevel.PRODUCT else None,
        category_id=category_id,
        method=forecast.method[:200],
        route=forecast.route.value,
        demand_class=forecast.pattern.demand_class.value,
        periods=[day.isoformat() for day in future],
        p10=_units(forecast.p10),
        p50=_units(forecast.p50),
        p90=_units(forecast.p90),
        baseline_p50=_units(forecast.baseline),
        history={"start": history.period_starts[-shown].isoformat(), "values": _units(actuals[-shown:])},
        backtest=backtest,
        horizon_total=round(float(forecast.p50.sum()), ROUND_UNITS),
        mase=backtest.get("mase"),
        wape=backtest.get("wape"),
        elasticity=_number(elasticity),
        elasticity_source=elasticity_source,
    )


def _build_rows(
    run: ForecastRun, history: DemandHistory, forecasts: Mapping[SeriesKey, DemandForecast], season_length: int
) -> list[SeriesForecast]:
    future = period_sequence(history.last_period, history.frequency, run.horizon + 1)[1:]
    product_position = {int(p): i for i, p in enumerate(history.product_ids.tolist())}
    product_elasticity = np.full(len(history.product_ids), np.nan)
    for (level, object_id), forecast in forecasts.items():
        if level == SeriesLevel.PRODUCT and forecast.elasticity is not None:
            product_elasticity[product_position[object_id]] = forecast.elasticity.elasticity
    category_elasticity, total_elasticity = _weighted_elasticities(history, product_elasticity, season_length)
    category_units = history.category_units
    category_position = {int(c): i for i, c in enumerate(history.category_ids.tolist())}
    rows = []
    for key, forecast in forecasts.items():
        level, object_id = key
        if level == SeriesLevel.PRODUCT:
            index = product_position[object_id]
            category_id = int(history.product_category[index]) or None
            elasticity = float(product_elasticity[index])
            source = forecast.elasticity.source.value if forecast.elasticity is not None else ""
            if not math.isfinite(elasticity) and category_id in category_position:
                # New products (and products whose price never moved) respond to price like their category.
                elasticity = float(category_elasticity[category_position[category_id]])
                source = "category" if math.isfinite(elasticity) else source
            rows.append(
                _series_row(run, key, forecast, history, history.units[index], future, category_id, elasticity, source)
            )
        elif level == SeriesLevel.CATEGORY:
            index = category_position[object_id]
            rows.append(
                _series_row(
                    run,
                    key,
                    forecast,
                    history,
                    category_units[index],
                    future,
                    object_id,
                    float(category_elasticity[index]),
                    "products",
                )
            )
        else:
            rows.append(
                _series_row(
                    run, key, forecast, history, history.total_units, future, None, total_elasticity, "products"
                )
            )
    return rows


def _run_details(
    forecasts: Mapping[SeriesKey, DemandForecast], history: DemandHistory, timings: dict[str, float]
) -> dict[str, Any]:
    by_level: dict[str, dict[SeriesKey, DemandForecast]] = {}
    for key, forecast in forecasts.items():
        by_level.setdefault(key[0], {})[key] = forecast
    products = by_level.get(SeriesLevel.PRODUCT.value, {}).values()
    return {
        # Products whose global-model backtest was compared with the local one, and those it won (served).
        "global_model": {
            "compared": sum(1 for f in products if f.global_backtest is not None),
            "served": sum(1 for f in products if f.method.startswith(GLOBAL_METHOD)),
        },
        "routes": {level: dict(Counter(f.route.value for f in items.values())) for level, items in by_level.items()},
        "demand_classes": {
            level: dict(Counter(f.pattern.demand_class.value for f in items.values()))
            for level, items in by_level.items()
        },
        "elasticity_sources": dict(
            Counter(
                f.elasticity.source.value
                for f in by_level.get(SeriesLevel.PRODUCT.value, {}).values()
                if f.elasticity is not None
            )
        ),
        "first_period": history.first_period.isoformat(),
        "history_periods": history.n_periods,
        "products": len(by_level.get(SeriesLevel.PRODUCT.value, {})),
        "categories": len(by_level.get(SeriesLevel.CATEGORY.value, {})),
        "seconds": {name: round(value, 2) for name, value in timings.items()},
    }


def _run_metrics(forecasts: Mapping[SeriesKey, DemandForecast]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for level in SeriesLevel.values:
        items = {key: f for key, f in forecasts.items() if key[0] == level}
        if items:
            metrics[level] = {
                "forecast": _summary_figures(items, baseline=False),
                "baseline": _summary_figures(items, baseline=True),
            }
    return metrics


def forecast_runs_prune(*, keep: int = KEEP_SUCCEEDED_RUNS) -> int:
    """Delete runs older than the ``keep`` newest succeeded ones (their rows go with them). Returns runs deleted."""
    kept = list(
        ForecastRun.objects.filter(status=RunStatus.SUCCEEDED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:keep]
    )
    if len(kept) < keep:
        return 0
    old = ForecastRun.objects.filter(created_at__lt=kept[-1]).exclude(status=RunStatus.RUNNING)
    try:
        with transaction.atomic():
            _, by_model = old.delete()
    except (ProtectedError, RestrictedError, DatabaseError) as error:  # e.g. a plan still refers to an old run
        logger.warning("old forecast runs kept: %s", error)
        return 0
    return by_model.get(ForecastRun._meta.label, 0)


# ---------------------------------------------------------------------------------------------------- the service


def forecast_run_create(
    *,
    tenant: Tenant,
    progress: Progress = silent_progress,
    today: dt.date | None = None,
    config: ForecastConfig | None = None,
) -> ForecastRun:
    """Forecast every product, category and the store total; store and activate a new run (tenant context set).

    Raises NotEnoughHistory (nothing stored) when there is no complete period of orders; any other failure marks
    the new run failed and re-raises, leaving the previous succeeded run serving.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress("reading order history")
    history = load_demand_history(tenant, today=today)
    timings["read"] = time.perf_counter() - started
    horizon = int(tenant.setting("forecast_horizon"))
    config = config or ForecastConfig(n_jobs=engine_processes())
    run = ForecastRun.objects.create(
        tenant=tenant, frequency=history.frequency, horizon=horizon, data_cutoff=history.data_cutoff
    )
    try:
        started = time.perf_counter()
        season_length = season_length_for(history.frequency, config)
        batches = series_inputs(history, min_priced_periods=default_min_history(season_length, horizon, config))
        total = sum(len(batch) for batch in batches)
        forecasts: dict[SeriesKey, DemandForecast] = {}
        notes: list[str] = []
        progress("fitting the store's global model")
        products = {key: item for batch in batches for key, item in batch.items() if key[0] == SeriesLevel.PRODUCT}
        # The global model's fit runs OpenMP threads, as many as the engine has processes (none of those run yet).
        with threadpool_limits(limits=config.n_jobs):
            global_paths = global_model_paths(products, history.frequency, horizon, config)
        timings["global_model"] = time.perf_counter() - started
        progress("forecasting demand", 0, total)
        # One BLAS thread: the engine parallelizes over series with processes; threads would only contend.
        with threadpool_limits(limits=1):
            for batch in batches:
                forecasts.update(_forecast_batch(batch, history.frequency, horizon, config, notes, global_paths))
                progress("forecasting demand", len(forecasts), total)
        timings["forecast"] = time.perf_counter() - started - timings["global_model"]

        started = time.perf_counter()
        progress("writing forecasts")
        rows = _build_rows(run, history, forecasts, season_length)
        run.metrics = _run_metrics(forecasts)
        with transaction.atomic():
            SeriesForecast.objects.bulk_create(rows, batch_size=WRITE_BATCH)
            timings["write"] = time.perf_counter() - started
            run.details = {**_run_details(forecasts, history, timings), "notes": notes}
            run.n_series = len(rows)
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
    except BaseException as error:
        ForecastRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=repr(error)[:2000], finished_at=timezone.now()
        )
        raise
    forecast_runs_prune()
    return run
