"""Experiment endpoints of the partner API, under /api/v1/experiments/ (URLs in experiments/api_urls.py).

- GET  /                    experiments, newest first, paginated (experiments:read)
- POST /                    create a draft (optionally `"start": true`) (experiments:write)
- GET  <id>/                one experiment with its arms (experiments:read)
- GET  <id>/results/        per-arm figures and the sequential test (experiments:read)
- POST <id>/start/ | stop/ | promote/ {"arm": "<key>"}   (experiments:write)
"""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.api.exceptions import Conflict, InvalidInput
from retailsite.api.scopes import Scope
from retailsite.api.views.base import TenantApiView, TenantListApiView

from .models import Arm, Experiment
from .selectors import ExperimentResults, experiment_results
from .services import (
    ArmSpec,
    ExperimentError,
    experiment_create,
    experiment_mark_significant,
    experiment_promote,
    experiment_start,
    experiment_stop,
)

TAG = "experiments"


class ArmSerializer(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z][a-z0-9_]{0,15}$", max_length=16)
    share = serializers.IntegerField(min_value=1, max_value=100, help_text="percent of shoppers")
    control = serializers.BooleanField(default=False, source="is_control")
    model_version = serializers.IntegerField(
        required=False, allow_null=True, default=None, source="model_version_id", help_text="null: the active version"
    )
    max_per_category = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=100
    )
    exclude_purchased = serializers.BooleanField(required=False, allow_null=True, default=None)


class ExperimentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    baseline_conversion = serializers.FloatField(required=False, default=0.05, min_value=0.0001, max_value=0.9)
    minimum_effect = serializers.FloatField(required=False, default=0.10, min_value=0.005, max_value=5.0)
    alpha = serializers.FloatField(required=False, default=0.05, min_value=0.001, max_value=0.2)
    power = serializers.FloatField(required=False, default=0.8, min_value=0.5, max_value=0.99)
    attribution_window_hours = serializers.IntegerField(required=False, default=168, min_value=1, max_value=24 * 90)
    arms = ArmSerializer(many=True, min_length=2, max_length=6)  # type: ignore[call-arg]  # ListSerializer takes them; the stubs lack them
    start = serializers.BooleanField(required=False, default=False)


class ExperimentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = serializers.CharField()
    baseline_conversion = serializers.FloatField()
    minimum_effect = serializers.FloatField()
    alpha = serializers.FloatField()
    power = serializers.FloatField()
    attribution_window_hours = serializers.IntegerField()
    planned_per_arm = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    stopped_at = serializers.DateTimeField(allow_null=True)
    significant_at = serializers.DateTimeField(allow_null=True)
    winner = serializers.SerializerMethodField()
    arms = ArmSerializer(many=True, source="arms.all")

    def get_winner(self, obj: Experiment) -> str | None:
        return obj.winner.key if obj.winner is not None else None


class ActionInputSerializer(serializers.Serializer):
    arm = serializers.CharField(required=False, max_length=16, help_text="promote: the key of the winning arm")


def _number(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def results_payload(results: ExperimentResults) -> dict[str, Any]:
    plan = results.plan
    return {
        "experiment": results.experiment.pk,
        "status": results.experiment.status,
        "test": {
            "method": "mSPRT (always-valid p-values; may be read at any time)",
            "metric": "conversion of exposed shoppers",
            "baseline": plan.baseline,
            "minimum_effect": plan.relative_effect,
            "alpha": plan.alpha,
            "alpha_per_comparison": plan.alpha_per_comparison,
            "power": plan.power,
            "planned_per_arm": plan.per_arm,
            "planned_reached": results.planned_reached,
            "significant": results.significant,
        },
        "arms": [
            {
                "key": r.arm.key,
                "control": r.arm.is_control,
                "share": r.arm.share,
                "model_version": r.arm.model_version_id,
                "exposed": r.exposed,
                "impressions": r.impressions,
                "clicks": r.clicks,
                "add_to_carts": r.add_to_carts,
                "orders": r.orders,
                "converters": r.converters,
                "revenue": str(r.revenue),
                "click_through": _number(r.click_through),
                "click_through_ci": [_number(v) for v in r.click_through_ci] if r.click_through_ci else None,
                "conversion": _number(r.conversion),
                "conversion_ci": [_number(v) for v in r.conversion_ci] if r.conversion_ci else None,
                "revenue_per_exposed": str(r.revenue_per_exposed) if r.revenue_per_exposed is not None else None,
                "lift": _number(r.lift),
                "p_value": _number(r.p_value),
                "significant": r.significant,
            }
            for r in results.arms
        ],
        "days": [day.isoformat() for day in results.days],
        "p_values": results.p_values,
    }


def _experiment(experiment_id: int | str) -> Experiment:
    # Ids arrive as text (a route parameter of any shape gets this JSON 404, not a framework page).
    text = str(experiment_id)
    found = text.isascii() and text.isdigit() and len(text) <= 18
    experiment = Experiment.objects.filter(pk=int(text)).prefetch_related("arms").first() if found else None
    if experiment is None:
        raise NotFound(f"No experiment with id {text!r} in this store.")
    return experiment


class ExperimentListApi(TenantListApiView):
    scope_map = {"GET": Scope.EXPERIMENTS_READ, "POST": Scope.EXPERIMENTS_WRITE}

    @extend_schema(tags=[TAG], summary="Experiments, newest first", responses=ExperimentOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        queryset = Experiment.objects.select_related("winner").prefetch_related("arms").order_by("-created_at", "-id")
        return self.paginated(queryset, ExperimentOutputSerializer)

    @extend_schema(
        tags=[TAG],
        summary="Create an experiment (a draft, or started at once with start=true)",
        request=ExperimentInputSerializer,
        responses={201: ExperimentOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.validated(ExperimentInputSerializer, request.data)
        arms = [ArmSpec(**arm) for arm in data.pop("arms")]
        start = data.pop("start")
        with transaction.atomic():
            try:
                experiment = experiment_create(arms=arms, **data)
            except ExperimentError as error:
                raise InvalidInput({"arms": [str(error)]}) from None
            if start:
                try:
                    experiment = experiment_start(experiment=experiment)
                except ExperimentError as error:
                    raise Conflict(str(error)) from None
        return self.output(ExperimentOutputSerializer, _experiment(experiment.pk), status=201)


class ExperimentDetailApi(TenantApiView):
    scope_map = {"GET": Scope.EXPERIMENTS_READ}

    @extend_schema(tags=[TAG], summary="One experiment with its arms", responses=ExperimentOutputSerializer)
    def get(self, request: Request, experiment_id: str) -> Response:
        return self.output(ExperimentOutputSerializer, _experiment(experiment_id))


class ExperimentResultsApi(TenantApiView):
    scope_map = {"GET": Scope.EXPERIMENTS_READ}

    @extend_schema(tags=[TAG], summary="Per-arm results and the sequential test", responses=dict)
    def get(self, request: Request, experiment_id: str) -> Response:
        experiment = _experiment(experiment_id)
        results = experiment_results(experiment)
        if results.significant and experiment.significant_at is None:
            experiment_mark_significant(experiment=experiment)
        return Response(results_payload(results))


class ExperimentActionApi(TenantApiView):
    scope_map = {"POST": Scope.EXPERIMENTS_WRITE}
    ACTIONS = ("start", "stop", "promote")

    @extend_schema(
        tags=[TAG],
        operation_id="experiments_action",
        summary="start, stop, or promote an arm ({'arm': key}) of an experiment",
        request=ActionInputSerializer,
        responses=ExperimentOutputSerializer,
    )
    def post(self, request: Request, experiment_id: str, action: str) -> Response:
        if action not in self.ACTIONS:
            raise NotFound(f"No action {action!r}; use one of: {', '.join(self.ACTIONS)}.")
        experiment = _experiment(experiment_id)
        data = self.validated(ActionInputSerializer, request.data)
        try:
            if action == "start":
                experiment_start(experiment=experiment)
            elif action == "stop":
                experiment_stop(experiment=experiment)
            else:
                arm = Arm.objects.filter(experiment=experiment, key=data.get("arm", "")).first()
                if arm is None:
                    raise InvalidInput({"arm": [f"No arm {data.get('arm', '')!r} in this experiment."]})
                experiment_promote(experiment=experiment, arm=arm, actor="via the API")
        except ExperimentError as error:
            raise Conflict(str(error)) from None
        return self.output(ExperimentOutputSerializer, _experiment(experiment.pk))
