"""Events of other apps turned into webhook deliveries: each app's own signals, connected here (ready()),
so none of them imports webhooks."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from .models import EventType
from .services import webhook_event_emit


def _model_version_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.status == "active" and (update_fields is None or "status" in update_fields):
        webhook_event_emit(
            event_type=EventType.MODEL_VERSION_ACTIVATED,
            data={
                "model_version": instance.pk,
                "algorithm": instance.algorithm,
                "ndcg_at_10": instance.ndcg_at_10,
                "reason": instance.status_reason,
            },
        )


def _forecast_run_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if instance.status == "succeeded" and instance.finished_at is not None:
        webhook_event_emit(
            event_type=EventType.FORECAST_RUN_FINISHED,
            data={"forecast_run": instance.pk, "series": instance.n_series, "frequency": instance.frequency},
        )


def _reorder_plan_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created and instance.status != "failed":
        webhook_event_emit(
            event_type=EventType.REORDER_PLAN_READY,
            data={"reorder_plan": instance.pk, "status": instance.status, "products_to_order": instance.n_to_order},
        )


def _import_finished(sender: Any, tenant: Any, report: Any, **kwargs: Any) -> None:
    webhook_event_emit(event_type=EventType.IMPORT_FINISHED, data={"summary": report.summary_lines()})


def _experiment_significant(sender: Any, experiment: Any, **kwargs: Any) -> None:
    webhook_event_emit(
        event_type=EventType.EXPERIMENT_SIGNIFICANT, data={"experiment": experiment.pk, "name": experiment.name}
    )


def connect() -> None:
    from experiments.signals import experiment_significant
    from forecasting.models import ForecastRun
    from inventory.models import ReorderPlan
    from recommendations.models import ModelVersion
    from retailsite.commerce.importers.service import import_finished

    post_save.connect(_model_version_saved, sender=ModelVersion, dispatch_uid="webhooks_model_version")
    post_save.connect(_forecast_run_saved, sender=ForecastRun, dispatch_uid="webhooks_forecast_run")
    post_save.connect(_reorder_plan_saved, sender=ReorderPlan, dispatch_uid="webhooks_reorder_plan")
    import_finished.connect(_import_finished, dispatch_uid="webhooks_import_finished")
    experiment_significant.connect(_experiment_significant, dispatch_uid="webhooks_experiment_significant")
