"""Staff pages of forecasting: forecasts with their charts and backtest figures, and the customer models' figures.

Login required; the user's membership in the selected store must allow Capability.VIEW (analysts and viewers
included: these are aggregates and models, no personal data). Every read goes through `forecasting.selectors`.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from retailsite.commerce.selectors import product_get_by_pk
from retailsite.tenancy.staff_pages import staff_context, staff_page

from . import selectors
from .models import ForecastRun, SeriesForecast, SeriesLevel

PAGE_SIZE = 50
DEFAULT_PRICE_CHANGE_PERCENT = -10.0
SORT_CHOICES = (
    ("-horizon_total", "expected units (high first)"),
    ("horizon_total", "expected units (low first)"),
    ("mase", "MASE (best first)"),
    ("-mase", "MASE (worst first)"),
    ("-wape", "WAPE (worst first)"),
    ("product__external_id", "product id"),
)
FIGURE_ROWS = (
    ("mase", "MASE"),
    ("wape", "WAPE"),
    ("rmse", "RMSE"),
    ("pinball", "pinball loss (P10/P50/P90)"),
    ("coverage", "P10-P90 coverage"),
    ("below_p10", "actuals below P10"),
    ("below_p90", "actuals below P90"),
    ("n_windows", "backtest windows"),
)
SUMMARY_ROWS = (
    ("median_mase", "median MASE"),
    ("mean_mase", "mean MASE"),
    ("wape", "WAPE (pooled)"),
    ("rmse", "RMSE (pooled)"),
    ("mean_scaled_pinball", "scaled pinball loss"),
    ("interval_coverage", "P10-P90 coverage"),
    ("share_below_p10", "actuals below P10"),
    ("share_below_p90", "actuals below P90"),
    ("n_series", "series"),
)
TOP_IMPORTANCES = 12


def _shown(value: Any) -> str:
    """A figure as staff read it: counts whole, measures with three decimals, a dash when missing."""
    if isinstance(value, bool) or value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}" if value == value else "—"
    return str(value)


def _figure_table(backtest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, forecast figure, seasonal naive figure) rows."""
    baseline = backtest.get("baseline") or {}
    return [(label, _shown(backtest.get(key)), _shown(baseline.get(key))) for key, label in FIGURE_ROWS]


def _summary_table(run: ForecastRun | None) -> list[dict[str, Any]]:
    """Per level: (label, forecast, baseline) rows of the run's aggregated backtest figures."""
    if run is None:
        return []
    tables = []
    for level, label in SeriesLevel.choices:
        figures = (run.metrics or {}).get(level)
        if figures:
            rows = [
                (name, _shown(figures["forecast"].get(key)), _shown(figures["baseline"].get(key)))
                for key, name in SUMMARY_ROWS
            ]
            tables.append({"level": label, "rows": rows})
    return tables


def _price_change(request: HttpRequest) -> float:
    """The what-if's price change from ?price_change=<percent>, kept within -90%..+200%."""
    try:
        percent = float(request.GET.get("price_change", DEFAULT_PRICE_CHANGE_PERCENT))
    except ValueError:
        percent = DEFAULT_PRICE_CHANGE_PERCENT
    if percent != percent:  # NaN
        percent = DEFAULT_PRICE_CHANGE_PERCENT
    return min(max(percent, -90.0), 200.0) / 100.0


def _detail(request: HttpRequest, series: SeriesForecast, title: str, **extra: Any) -> HttpResponse:
    price_change = _price_change(request)
    what_if = selectors.forecast_what_if(series=series, price_change=price_change)
    table = [
        {
            "period": start,
            "p10": p10,
            "p50": p50,
            "p90": p90,
            "baseline": baseline,
            "what_if": what_if.p50[i] if what_if else None,
        }
        for i, (start, p10, p50, p90, baseline) in enumerate(
            zip(series.periods, series.p10, series.p50, series.p90, series.baseline_p50, strict=True)
        )
    ]
    return render(
        request,
        "forecasting/forecast_detail.html",
        staff_context(
            request,
            title,
            series=series,
            run=series.run,
            figures=_figure_table(series.backtest or {}),
            chart_config=selectors.forecast_chart_config(series, what_if),
            what_if=what_if,
            price_change_percent=round(price_change * 100, 1),
            periods=table,
            what_if_total=what_if.horizon_total if what_if else None,
            **extra,
        ),
    )


@staff_page
def forecast_index(request: HttpRequest) -> HttpResponse:
    """Products of the serving run with their forecast and backtest figures; search, filters, sorting."""
    run = selectors.forecast_run_latest()
    category = None
    if request.GET.get("category", "").isdigit():
        category = selectors.category_get(pk=int(request.GET["category"]))
    sort = request.GET.get("sort", "-horizon_total")
    rows = selectors.forecast_list(
        level=SeriesLevel.PRODUCT,
        category=category,
        search=request.GET.get("q", "").strip()[:100],
        demand_class=request.GET.get("demand_class", ""),
        route=request.GET.get("route", ""),
        ordering=sort,
        run=run,
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    total = selectors.forecast_total(run=run) if run else None
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "forecasting/forecast_index.html",
        staff_context(
            request,
            "Demand forecasts",
            run=run,
            page=page,
            summary=_summary_table(run),
            total=total,
            categories=selectors.category_list(),
            selected_category=category,
            sort=sort,
            sort_choices=SORT_CHOICES,
            demand_classes=("smooth", "erratic", "intermittent", "lumpy", "no_demand"),
            routes=("regular", "intermittent", "new_product", "short_history", "no_demand"),
            query_string=filters.urlencode(),
            recent_runs=selectors.forecast_run_list()[:5],
        ),
    )


@staff_page
def forecast_product(request: HttpRequest, product_pk: int) -> HttpResponse:
    product = product_get_by_pk(product_pk)
    if product is None:
        raise Http404("No such product in this store.")
    series = selectors.forecast_for_product(product=product)
    if series is None:
        raise Http404("The latest forecast run has no forecast for this product (inactive, or no run yet).")
    return _detail(request, series, f"Forecast: {product.name} ({product.external_id})", product=product)


@staff_page
def forecast_categories(request: HttpRequest) -> HttpResponse:
    run = selectors.forecast_run_latest()
    rows = selectors.forecast_list(level=SeriesLevel.CATEGORY, run=run) if run else SeriesForecast.objects.none()
    return render(
        request,
        "forecasting/forecast_categories.html",
        staff_context(
            request,
            "Demand forecasts by category",
            run=run,
            rows=rows,
            total=selectors.forecast_total(run=run) if run else None,
        ),
    )


@staff_page
def forecast_category(request: HttpRequest, category_pk: int) -> HttpResponse:
    category = selectors.category_get(pk=category_pk)
    if category is None:
        raise Http404("No such category in this store.")
    series = selectors.forecast_for_category(category=category)
    if series is None:
        raise Http404("The latest forecast run has no forecast for this category.")
    return _detail(request, series, f"Forecast: {category.path}", category=category)


@staff_page
def forecast_store_total(request: HttpRequest) -> HttpResponse:
    series = selectors.forecast_total()
    if series is None:
        raise Http404("No forecast run has succeeded yet.")
    return _detail(request, series, "Forecast: store total")


def _importance_chart(importances: dict[str, float]) -> dict[str, Any]:
    top = sorted(importances.items(), key=lambda item: -abs(item[1]))[:TOP_IMPORTANCES]
    return {
        "type": "bar",
        "data": {
            "labels": [name for name, _ in top],
            "datasets": [
                {"label": "permutation importance", "data": [round(v, 5) for _, v in top], "backgroundColor": "#417690"}
            ],
        },
        "options": {"indexAxis": "y", "plugins": {"legend": {"display": False}}},
    }


def _model_sections(figures: dict[str, Any]) -> list[dict[str, Any]]:
    sections = []
    for name, model in (figures.get("models") or {}).items():
        own = model.get("figures") or {}
        baselines = model.get("baseline_figures") or {}
        baseline_names = sorted(baselines)
        rows = [
            (key, value, [baselines[b].get(key) for b in baseline_names])
            for key, value in own.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        groups = []
        for attribute, by_value in sorted((model.get("group_figures") or {}).items()):
            keys = sorted({key for values in by_value.values() for key in values})
            groups.append(
                {
                    "attribute": attribute,
                    "keys": keys,
                    "rows": [(value, [values.get(key) for key in keys]) for value, values in sorted(by_value.items())],
                }
            )
        importances = model.get("importances") or {}
        sections.append(
            {
                "name": name,
                "params": model.get("params") or {},
                "rows": rows,
                "baseline_names": baseline_names,
                "groups": groups,
                "chart_id": f"importances-{name}",
                "chart": _importance_chart(importances) if importances else None,
            }
        )
    return sections


@staff_page
def customer_models(request: HttpRequest) -> HttpResponse:
    """The serving customer-model run: held-out figures beside baselines, importances, per-group figures."""
    run = selectors.customer_model_run_latest()
    figures = run.figures if run is not None else {}
    return render(
        request,
        "forecasting/customer_models.html",
        staff_context(
            request,
            "Customer models",
            run=run,
            sections=_model_sections(figures or {}),
            segments=[
                (name, (figures.get("segment_descriptions") or {}).get(name, ""), values)
                for name, values in (figures.get("segment_summary") or {}).items()
            ],
            missing_values=figures.get("missing_values") or {},
            notes=figures.get("notes") or [],
            recent_runs=selectors.customer_model_run_list()[:5],
        ),
    )
