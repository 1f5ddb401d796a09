"""The "forecasts" training step: demand forecasts, then customer predictions, for one store.

Declared in `forecasting/steps.py`; `manage.py train --tenant SLUG --only forecasts` and the scheduled Celery
task run it through `retailsite.tenancy.training_steps.training_step_run` (per-tenant lock, recorded run, tenant
context). Inventory plans are chained after it.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from retailsite.tenancy.models import Tenant
from retailsite.tenancy.training_steps import Progress

from .customer_predictions import customer_predictions_train
from .forecast_runs import NotEnoughHistory, forecast_run_create
from .models import CustomerModelRun, ForecastRun, RunStatus

logger = logging.getLogger(__name__)


def _demand_summary(tenant: Tenant, progress: Progress) -> str:
    try:
        run = forecast_run_create(tenant=tenant, progress=progress)
    except NotEnoughHistory as reason:
        return f"demand forecasts skipped: {reason}"
    details = run.details
    mase = run.metrics.get("product", {}).get("forecast", {}).get("median_mase")
    baseline = run.metrics.get("product", {}).get("baseline", {}).get("median_mase")
    figures = f", median MASE {mase:.3f} vs seasonal naive {baseline:.3f}" if mase and baseline else ""
    return (
        f"demand forecast run {run.pk}: {details.get('products', 0)} products, "
        f"{details.get('categories', 0)} categories and the total, {run.horizon} x {run.frequency}{figures}"
    )


def interrupted_runs_mark_failed() -> int:
    """Runs left "running" by a process that died. The step holds the store's lock, so none is alive."""
    fields = {
        "status": RunStatus.FAILED,
        "finished_at": timezone.now(),
        "error": "interrupted: the process running it died before it finished",
    }
    return ForecastRun.objects.filter(status=RunStatus.RUNNING).update(**fields) + CustomerModelRun.objects.filter(
        status=RunStatus.RUNNING
    ).update(**fields)


def run_forecasts_step(tenant: Tenant, progress: Progress) -> str:
    """Demand forecasts, then customer predictions; each keeps its previous version serving if it fails.

    Customer predictions run even when the demand forecasts failed (they do not depend on each other); the step
    then still fails with the demand error, so the failure is recorded and inventory is not re-planned.
    """
    interrupted_runs_mark_failed()
    demand_error: Exception | None = None
    try:
        demand = _demand_summary(tenant, progress)
    except Exception as error:
        logger.exception("demand forecasts failed for %s", tenant.slug)
        demand_error = error
        demand = f"demand forecasts failed: {error}"
    customers = customer_predictions_train(tenant=tenant, progress=progress)
    if demand_error is not None:
        raise demand_error
    return f"{demand}; {customers}"
