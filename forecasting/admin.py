"""Admin for forecast runs, series forecasts and customer-model runs: read-only figures with links to the charts.

Runs are written only by the training step; nobody adds or edits them here. Per-customer predictions are
profiling data about a person, so they need the personal-data capability, not just VIEW.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from retailsite.tenancy.admin_base import TenantScopedAdmin, request_can
from retailsite.tenancy.permissions import Capability

from .models import CustomerModelRun, CustomerPrediction, ForecastRun, SeriesForecast, SeriesLevel


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "—" if value is None else str(value)


def _figure_table(pairs: list[tuple[str, Any, Any]], headers: tuple[str, str, str]) -> str:
    if not pairs:
        return "—"
    head = format_html("<tr><th>{}</th><th>{}</th><th>{}</th></tr>", *headers)
    rows = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((name, _fmt(a), _fmt(b)) for name, a, b in pairs)
    )
    return format_html("<table>{}{}</table>", head, rows)


def _staff_link(label: str, name: str, *args: Any) -> str:
    """A link to a staff page, or the label alone while the staff pages are not mounted."""
    try:
        return format_html('<a href="{}">{}</a>', reverse(f"forecasting:{name}", args=args), label)
    except NoReverseMatch:
        return label


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ForecastRun)
class ForecastRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "frequency",
        "horizon",
        "data_cutoff",
        "n_series",
        "median_mase",
        "baseline_median_mase",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "frequency"]
    fields = readonly_fields = (
        "status",
        "frequency",
        "horizon",
        "data_cutoff",
        "n_series",
        "backtest_figures",
        "charts",
        "details",
        "error",
        "created_at",
        "finished_at",
    )

    def _product_summary(self, obj: ForecastRun, which: str) -> Any:
        return ((obj.metrics or {}).get(SeriesLevel.PRODUCT) or {}).get(which, {}).get("median_mase")

    @admin.display(description="median MASE (products)")
    def median_mase(self, obj: ForecastRun) -> str:
        return _fmt(self._product_summary(obj, "forecast"))

    @admin.display(description="seasonal naive")
    def baseline_median_mase(self, obj: ForecastRun) -> str:
        return _fmt(self._product_summary(obj, "baseline"))

    @admin.display(description="backtest figures (forecast vs seasonal naive)")
    def backtest_figures(self, obj: ForecastRun) -> str:
        tables = []
        for level, label in SeriesLevel.choices:
            figures = (obj.metrics or {}).get(level)
            if not figures:
                continue
            pairs = [
                (key, figures["forecast"].get(key), figures["baseline"].get(key))
                for key in figures["forecast"]
                if key != "n_points"
            ]
            tables.append(
                format_html("<h4>{}</h4>{}", label, _figure_table(pairs, ("figure", "forecast", "seasonal naive")))
            )
        return format_html_join("", "{}", ((t,) for t in tables)) if tables else "—"

    @admin.display(description="charts")
    def charts(self, obj: ForecastRun) -> str:
        return format_html("{} (the latest succeeded run)", _staff_link("forecast pages", "forecast-index"))


@admin.register(SeriesForecast)
class SeriesForecastAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "level",
        "subject",
        "method",
        "demand_class",
        "horizon_total",
        "mase",
        "wape",
        "elasticity",
        "chart",
        "run",
    ]
    list_filter = ["level", "route", "demand_class"]
    search_fields = ["product__external_id", "product__name", "category__path"]
    list_select_related = ["product", "category", "run"]
    fields = readonly_fields = (
        "run",
        "level",
        "product",
        "category",
        "method",
        "route",
        "demand_class",
        "horizon_total",
        "figures",
        "elasticity",
        "elasticity_source",
        "chart",
        "periods",
        "p10",
        "p50",
        "p90",
        "baseline_p50",
    )

    @admin.display(description="product or category")
    def subject(self, obj: SeriesForecast) -> str:
        if obj.product_id:
            return str(obj.product)
        return obj.category.path if obj.category is not None else "store total"

    @admin.display(description="chart")
    def chart(self, obj: SeriesForecast) -> str:
        if obj.level == SeriesLevel.PRODUCT and obj.product_id:
            return _staff_link("chart", "forecast-product", obj.product_id)
        if obj.level == SeriesLevel.CATEGORY and obj.category_id:
            return _staff_link("chart", "forecast-category", obj.category_id)
        return _staff_link("chart", "forecast-total")

    @admin.display(description="backtest (forecast vs seasonal naive)")
    def figures(self, obj: SeriesForecast) -> str:
        backtest = obj.backtest or {}
        baseline = backtest.get("baseline") or {}
        pairs = [(key, value, baseline.get(key)) for key, value in backtest.items() if key != "baseline"]
        return _figure_table(pairs, ("figure", "forecast", "seasonal naive"))


@admin.register(CustomerModelRun)
class CustomerModelRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "n_customers", "churn_auc", "spend_r2", "next_category_f1", "created_at"]
    list_filter = ["status"]
    fields = readonly_fields = ("status", "n_customers", "model_figures", "page", "error", "created_at", "finished_at")

    def _figure(self, obj: CustomerModelRun, model: str, key: str) -> str:
        return _fmt(((obj.figures or {}).get("models") or {}).get(model, {}).get("figures", {}).get(key))

    @admin.display(description="churn ROC-AUC")
    def churn_auc(self, obj: CustomerModelRun) -> str:
        return self._figure(obj, "churn", "roc_auc")

    @admin.display(description="spend R²")
    def spend_r2(self, obj: CustomerModelRun) -> str:
        return self._figure(obj, "spend", "r2")

    @admin.display(description="next category F1")
    def next_category_f1(self, obj: CustomerModelRun) -> str:
        return self._figure(obj, "next_category", "f1_macro")

    @admin.display(description="held-out figures")
    def model_figures(self, obj: CustomerModelRun) -> str:
        tables = []
        for name, model in ((obj.figures or {}).get("models") or {}).items():
            pairs = [(key, value, "") for key, value in (model.get("figures") or {}).items()]
            tables.append(format_html("<h4>{}</h4>{}", name, _figure_table(pairs, ("figure", "model", ""))))
        return format_html_join("", "{}", ((t,) for t in tables)) if tables else "—"

    @admin.display(description="details")
    def page(self, obj: CustomerModelRun) -> str:
        return _staff_link("baselines, importances and per-group figures", "customer-models")


@admin.register(CustomerPrediction)
class CustomerPredictionAdmin(ReadOnlyAdmin):
    list_display = ["customer", "segment", "expected_spend", "churn_probability", "next_category", "run"]
    list_filter = ["segment"]
    search_fields = ["customer__external_id"]
    list_select_related = ["customer", "run"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.VIEW_PERSONAL_DATA)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request_can(request, Capability.VIEW_PERSONAL_DATA)
