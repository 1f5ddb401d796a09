"""Read side of forecasting: the serving run, forecasts by product, category and store total, price what-ifs,
customer insights, and chart data for the staff pages.

Everything runs in the current tenant's context (the tenant-scoped managers fail closed without one) and reads
only the latest *succeeded* run, so a failed or running run is never served.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from retailsite.commerce.models import Category, Customer, Product

from .models import CustomerModelRun, CustomerPrediction, ForecastRun, RunStatus, SeriesForecast, SeriesLevel
from .periods import period_sequence

SORTABLE_FIELDS = ("horizon_total", "mase", "wape", "elasticity", "product__external_id", "product__name")


# ---------------------------------------------------------------------------------------------------- runs


def forecast_run_latest() -> ForecastRun | None:
    """The run that serves: the newest succeeded one."""
    return ForecastRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-created_at", "-id").first()


def forecast_run_list() -> QuerySet[ForecastRun]:
    return ForecastRun.objects.order_by("-created_at", "-id")


# ---------------------------------------------------------------------------------------------------- forecasts


def _serving(run: ForecastRun | None) -> QuerySet[SeriesForecast]:
    run = run if run is not None else forecast_run_latest()
    if run is None:
        return SeriesForecast.objects.none()
    return SeriesForecast.objects.filter(run=run).select_related("run", "product", "category")


def category_subtree(category: Category) -> Q:
    """Rows whose category is ``category`` or one of its sub-categories (paths are "Parent > Child")."""
    return Q(category=category) | Q(category__path__startswith=f"{category.path} > ")


def forecast_list(
    *,
    level: str = SeriesLevel.PRODUCT,
    category: Category | None = None,
    search: str = "",
    demand_class: str = "",
    route: str = "",
    ordering: str = "",
    run: ForecastRun | None = None,
) -> QuerySet[SeriesForecast]:
    """Forecasts of one level from the serving run (or ``run``).

    For products, ``category`` keeps the products in that category or below it and ``search`` matches the external
    id or the name; for categories, ``category`` keeps the category itself and its sub-categories.
    """
    rows = _serving(run).filter(level=level)
    if category is not None:
        rows = rows.filter(category_subtree(category))
    if search:
        rows = rows.filter(Q(product__external_id__icontains=search) | Q(product__name__icontains=search))
    if demand_class:
        rows = rows.filter(demand_class=demand_class)
    if route:
        rows = rows.filter(route=route)
    field = ordering.lstrip("-")
    if field in SORTABLE_FIELDS:
        # Series without a figure (no backtest, no elasticity) go last whichever the direction.
        expression = F(field).desc(nulls_last=True) if ordering.startswith("-") else F(field).asc(nulls_last=True)
        return rows.order_by(expression, "id")
    defaults: dict[str, str] = {SeriesLevel.PRODUCT: "product__external_id", SeriesLevel.CATEGORY: "category__path"}
    default = defaults.get(level, "id")
    return rows.order_by(default, "id")


def forecast_for_product(*, product: Product, run: ForecastRun | None = None) -> SeriesForecast | None:
    return _serving(run).filter(level=SeriesLevel.PRODUCT, product=product).first()


def forecast_for_category(*, category: Category, run: ForecastRun | None = None) -> SeriesForecast | None:
    return _serving(run).filter(level=SeriesLevel.CATEGORY, category=category).first()


def forecast_total(*, run: ForecastRun | None = None) -> SeriesForecast | None:
    return _serving(run).filter(level=SeriesLevel.TOTAL).first()


def category_get(*, pk: int) -> Category | None:
    return Category.objects.filter(pk=pk).first()


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("path")


def history_periods(series: SeriesForecast) -> list[dt.date]:
    """Start dates of the recent actuals stored with a forecast."""
    history = series.history or {}
    values = history.get("values") or []
    if not values or not history.get("start"):
        return []
    return period_sequence(dt.date.fromisoformat(history["start"]), series.run.frequency, len(values))


# ---------------------------------------------------------------------------------------------------- what-if


@dataclass(frozen=True)
class PriceWhatIf:
    """Demand if the price changes by ``price_change`` (-0.10: 10% cheaper): every quantile scaled alike."""

    price_change: float
    elasticity: float
    multiplier: float
    periods: list[str]
    p10: list[float]
    p50: list[float]
    p90: list[float]

    @property
    def horizon_total(self) -> float:
        return float(sum(self.p50))


def forecast_what_if(*, series: SeriesForecast, price_change: float) -> PriceWhatIf | None:
    """The stored forecast under a price change, using the run's elasticity estimate (None when there is none)."""
    if series.elasticity is None or not math.isfinite(series.elasticity):
        return None
    # Imported here: the engine module needs pandas, which web workers load only when a what-if is shown.
    from forecasting.engine.demand_price import price_change_multiplier

    multiplier = price_change_multiplier(float(series.elasticity), price_change)
    return PriceWhatIf(
        price_change=price_change,
        elasticity=float(series.elasticity),
        multiplier=multiplier,
        periods=list(series.periods),
        p10=[round(v * multiplier, 3) for v in series.p10],
        p50=[round(v * multiplier, 3) for v in series.p50],
        p90=[round(v * multiplier, 3) for v in series.p90],
    )


# ---------------------------------------------------------------------------------------------------- charts


def forecast_chart_config(series: SeriesForecast, what_if: PriceWhatIf | None = None) -> dict[str, Any]:
    """A Chart.js line chart: recent actuals, the P10-P90 band, P50 and the seasonal naive baseline.

    All series share one category axis (history periods, then forecast periods); a series is null where it does
    not apply, so the band and P50 start where the history ends.
    """
    past = [day.isoformat() for day in history_periods(series)]
    future = list(series.periods)
    labels = past + future
    gap = [None] * len(past)
    actual = list((series.history or {}).get("values") or []) + [None] * len(future)

    def ahead(values: list[float]) -> list[float | None]:
        return gap + list(values)

    datasets: list[dict[str, Any]] = [
        {
            "label": "Actual units",
            "data": actual,
            "borderColor": "#1f3b57",
            "backgroundColor": "#1f3b57",
            "pointRadius": 0,
            "borderWidth": 2,
            "fill": False,
        },
        {
            "label": "P90",
            "data": ahead(series.p90),
            "borderColor": "rgba(65,118,144,0.35)",
            "backgroundColor": "rgba(65,118,144,0.18)",
            "pointRadius": 0,
            "borderWidth": 1,
            "fill": "+1",
        },
        {
            "label": "P10",
            "data": ahead(series.p10),
            "borderColor": "rgba(65,118,144,0.35)",
            "backgroundColor": "rgba(65,118,144,0.18)",
            "pointRadius": 0,
            "borderWidth": 1,
            "fill": False,
        },
        {
            "label": "Forecast (P50)",
            "data": ahead(series.p50),
            "borderColor": "#417690",
            "backgroundColor": "#417690",
            "pointRadius": 2,
            "borderWidth": 2,
            "fill": False,
        },
        {
            "label": "Seasonal naive",
            "data": ahead(series.baseline_p50),
            "borderColor": "#b35c00",
            "backgroundColor": "#b35c00",
            "borderDash": [6, 4],
            "pointRadius": 0,
            "borderWidth": 1.5,
            "fill": False,
        },
    ]
    if what_if is not None:
        datasets.append(
            {
                "label": f"P50 if price {what_if.price_change:+.0%}",
                "data": ahead(what_if.p50),
                "borderColor": "#6a3d9a",
                "backgroundColor": "#6a3d9a",
                "borderDash": [2, 3],
                "pointRadius": 0,
                "borderWidth": 1.5,
                "fill": False,
            }
        )
    return {
        "type": "line",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "interaction": {"mode": "index", "intersect": False},
            "spanGaps": False,
            "scales": {
                "y": {"beginAtZero": True, "title": {"display": True, "text": "units per period"}},
                "x": {"ticks": {"maxTicksLimit": 14}},
            },
            "plugins": {"legend": {"position": "bottom"}},
        },
    }


# ---------------------------------------------------------------------------------------------------- customers


def customer_model_run_latest() -> CustomerModelRun | None:
    return CustomerModelRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-created_at", "-id").first()


def customer_model_run_list() -> QuerySet[CustomerModelRun]:
    return CustomerModelRun.objects.order_by("-created_at", "-id")


@dataclass(frozen=True)
class CustomerInsights:
    """A customer's predictions from the serving run; ``prediction`` is None with a ``reason`` when there are none."""

    customer: Customer
    run: CustomerModelRun | None
    prediction: CustomerPrediction | None
    reason: str = ""

    @property
    def segment_description(self) -> str:
        if self.run is None or self.prediction is None:
            return ""
        descriptions = (self.run.figures or {}).get("segment_descriptions") or {}
        return str(descriptions.get(self.prediction.segment, "")) if isinstance(descriptions, dict) else ""


def customer_insights_get(*, customer_id: str) -> CustomerInsights | None:
    """Insights of the customer with this external id in the current store; None if the store has no such customer.

    A customer who has withdrawn personalization consent gets none, even if an older run scored them.
    """
    if "\x00" in customer_id:  # PostgreSQL text cannot hold NUL: no customer has such an id
        return None
    customer = Customer.objects.filter(external_id=customer_id).first()
    if customer is None:
        return None
    if not customer.personalization_consent:
        return CustomerInsights(customer, None, None, "no personalization consent")
    run = customer_model_run_latest()
    if run is None:
        return CustomerInsights(customer, None, None, "no customer model has been trained yet")
    prediction = CustomerPrediction.objects.filter(run=run, customer=customer).first()
    if prediction is None:
        return CustomerInsights(customer, run, None, "not scored by the latest run (e.g. a newer customer)")
    return CustomerInsights(customer, run, prediction)
