"""Versioned forecast runs and customer-prediction runs, and what they produced.

Serving reads only the latest *succeeded* run of each kind, so a failed or interrupted run
leaves the previous forecasts and predictions in place.
"""

from __future__ import annotations

from django.db import models

from retailsite.commerce.models import Category, Customer, Product
from retailsite.tenancy.models import TenantOwnedModel


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ForecastRun(TenantOwnedModel):
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    frequency = models.CharField(max_length=1)
    horizon = models.PositiveSmallIntegerField()
    data_cutoff = models.DateField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="backtest figures, aggregated")
    n_series = models.PositiveIntegerField(default=0)
    details = models.JSONField(
        default=dict, blank=True, help_text="series per route and demand class, elasticities, timings"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="forecastrun_tenant_status_idx")]

    def __str__(self) -> str:
        return f"forecast run {self.pk} ({self.status})"


class SeriesLevel(models.TextChoices):
    PRODUCT = "product", "Product"
    CATEGORY = "category", "Category"
    TOTAL = "total", "Store total"


class SeriesForecast(TenantOwnedModel):
    """One series' forecast (product, category or store total) with its backtest figures."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="series")
    level = models.CharField(max_length=10, choices=SeriesLevel.choices)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=200)
    route = models.CharField(max_length=20, blank=True, help_text="regular, intermittent, new_product, ...")
    demand_class = models.CharField(max_length=20, blank=True)
    # Parallel lists over the horizon: period starts (ISO dates) and quantiles.
    periods = models.JSONField(default=list)
    p10 = models.JSONField(default=list)
    p50 = models.JSONField(default=list)
    p90 = models.JSONField(default=list)
    baseline_p50 = models.JSONField(default=list, help_text="seasonal naive, always computed beside")
    history = models.JSONField(
        default=dict, blank=True, help_text="recent actuals for charts: start (ISO date of the first period), values"
    )
    backtest = models.JSONField(default=dict, blank=True, help_text="MASE, WAPE, RMSE, pinball, coverage")
    # Denormalized from the lists above so that staff pages can sort and filter in SQL.
    horizon_total = models.FloatField(default=0, help_text="P50 summed over the horizon")
    mase = models.FloatField(null=True, blank=True)
    wape = models.FloatField(null=True, blank=True)
    elasticity = models.FloatField(null=True, blank=True)
    elasticity_source = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "run", "level", "product", "category"],
                name="seriesforecast_tenant_run_key_uniq",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "run", "product"], name="seriesforecast_tenant_prod_idx"),
            models.Index(fields=["tenant", "run", "level", "category"], name="seriesfc_tenant_level_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.level} forecast ({self.method})"


class CustomerModelRun(TenantOwnedModel):
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    figures = models.JSONField(default=dict, blank=True, help_text="per model: figures, baselines, groups")
    n_customers = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"customer model run {self.pk} ({self.status})"


class CustomerPrediction(TenantOwnedModel):
    run = models.ForeignKey(CustomerModelRun, on_delete=models.CASCADE, related_name="predictions")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    expected_spend = models.FloatField()
    churn_probability = models.FloatField()
    next_category = models.CharField(max_length=1000, blank=True)
    next_category_probability = models.FloatField(null=True, blank=True)
    segment = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "run", "customer"], name="custpred_tenant_run_cust_uniq"),
        ]
