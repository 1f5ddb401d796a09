from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from recommendations.models import ModelVersion
from retailsite.tenancy.admin_base import TenantScopedAdmin, TenantScopedInline, request_can
from retailsite.tenancy.permissions import Capability

from .models import Arm, Experiment
from .services import SERVABLE_STATUSES, ExperimentError, experiment_prepare, experiment_start, experiment_stop


class ArmInline(TenantScopedInline):
    model = Arm
    extra = 2
    fields = ["key", "is_control", "share", "model_version", "max_per_category", "exclude_purchased"]

    def _draft(self, obj: Experiment | None) -> bool:
        return obj is None or obj.status == Experiment.Status.DRAFT

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._draft(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._draft(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._draft(obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "model_version":
            # Only versions that passed the offline gate are offered (starting checks it again).
            kwargs["queryset"] = ModelVersion.objects.filter(status__in=SERVABLE_STATUSES)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Experiment)
class ExperimentAdmin(TenantScopedAdmin):
    list_display = ["name", "status", "arm_summary", "started_at", "planned_per_arm", "significant_at", "results"]
    list_filter = ["status"]
    fields = [
        "name",
        "description",
        "baseline_conversion",
        "minimum_effect",
        "alpha",
        "power",
        "attribution_window_hours",
        "status",
        "planned_per_arm",
        "started_at",
        "stopped_at",
        "significant_at",
        "winner",
        "results",
    ]
    readonly_fields = ["status", "planned_per_arm", "started_at", "stopped_at", "significant_at", "winner", "results"]
    inlines = [ArmInline]
    actions = ["start_experiments", "stop_experiments"]

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> Any:
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            # The plan of a started test is fixed: changing it afterwards would be peeking by another name.
            return [f for f in self.fields if f not in ("name", "description")]
        return self.readonly_fields

    @admin.display(description="arms")
    def arm_summary(self, obj: Experiment) -> str:
        return format_html_join(
            ", ", "{} {}%{}", ((a.key, a.share, " (control)" if a.is_control else "") for a in obj.arms.all())
        )

    @admin.display(description="results")
    def results(self, obj: Experiment) -> str:
        if obj.pk is None:
            return "—"
        return format_html('<a href="{}">results</a>', reverse("experiments:results", args=[obj.pk]))

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        experiment_prepare(obj)
        super().save_model(request, obj, form, change)

    def has_start_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.CHANGE)

    has_stop_permission = has_start_permission

    @admin.action(description="Start the selected draft experiment", permissions=["start"])
    def start_experiments(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                started = experiment_start(experiment=experiment)
            except ExperimentError as error:
                self.message_user(request, f"{experiment.name}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{started.name} is running; planned {started.planned_per_arm:,} shoppers per arm.",
                    messages.SUCCESS,
                )

    @admin.action(description="Stop the selected running experiment", permissions=["stop"])
    def stop_experiments(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        for experiment in queryset:
            try:
                experiment_stop(experiment=experiment)
            except ExperimentError as error:
                self.message_user(request, f"{experiment.name}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment.name} stopped.", messages.SUCCESS)
