from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from retailsite.tenancy.admin_base import TenantScopedAdmin, request_can
from retailsite.tenancy.permissions import Capability

from .models import ModelVersion, ProductNeighbours
from .services import model_version_activate


@admin.register(ModelVersion)
class ModelVersionAdmin(TenantScopedAdmin):
    list_display = [
        "version",
        "algorithm",
        "status",
        "ndcg",
        "recall",
        "coverage",
        "data_cutoff",
        "created_at",
        "activated_at",
    ]
    list_filter = ["status", "algorithm"]
    readonly_fields = [
        "algorithm",
        "status",
        "status_reason",
        "data_cutoff",
        "figures",
        "component_figures",
        "group_figures",
        "params",
        "n_customers",
        "n_products",
        "n_interactions",
        "fit_time",
        "created_at",
        "activated_at",
    ]
    exclude = ["metrics", "fit_seconds"]
    actions = ["activate_version"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # figures are read-only; activation is an action

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if isinstance(obj, ModelVersion) and obj.status == ModelVersion.Status.ACTIVE:
            return False  # the version serving now: activate another first
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        active = queryset.filter(status=ModelVersion.Status.ACTIVE).first()
        if active is not None:
            self.message_user(request, f"v{active.number} is serving and was not deleted.", messages.WARNING)
        super().delete_queryset(request, queryset.exclude(status=ModelVersion.Status.ACTIVE))

    @admin.display(description="version", ordering="number")
    def version(self, obj: ModelVersion) -> str:
        return f"v{obj.number}"

    @admin.display(description="fit time")
    def fit_time(self, obj: ModelVersion) -> str:
        return f"{obj.fit_seconds:,.1f} s"

    @admin.display(description="NDCG@10")
    def ndcg(self, obj: ModelVersion) -> str:
        return _fmt(obj.metrics.get("ndcg@10"))

    @admin.display(description="recall@10")
    def recall(self, obj: ModelVersion) -> str:
        return _fmt(obj.metrics.get("recall@10"))

    @admin.display(description="coverage")
    def coverage(self, obj: ModelVersion) -> str:
        return _fmt(obj.metrics.get("coverage"))

    @admin.display(description="evaluation (time-based split)")
    def figures(self, obj: ModelVersion) -> str:
        flat = {k: v for k, v in obj.metrics.items() if not isinstance(v, dict | list)}
        if not flat:
            return "—"
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, _fmt(v)) for k, v in sorted(flat.items())))
        return format_html("<table>{}</table>", rows)

    @admin.display(description="components (NDCG@10 alone vs the blend)")
    def component_figures(self, obj: ModelVersion) -> str:
        components = obj.metrics.get("components")
        if not isinstance(components, dict) or not components:
            return "—"
        blend = obj.metrics.get("blend") or {}

        def folds(figures: dict) -> str:
            return ", ".join(_fmt(value) for value in figures.get("folds_ndcg@10") or []) or "—"

        rows = [
            (name, _fmt(figures.get("weight")), folds(figures), _fmt(figures.get("ndcg@10")))
            for name, figures in sorted(components.items(), key=lambda item: -(item[1].get("weight") or 0))
        ]
        if blend:
            rows.insert(0, (f"served: {blend.get('served', '')}", "", folds(blend), _fmt(blend.get("ndcg@10"))))
        check = obj.metrics.get("new_products")
        if isinstance(check, dict):  # why new products do or do not take their neighbours' scores
            with_path = ", ".join(_fmt(value) for value in check.get("folds_ndcg@10_with") or [])
            without = ", ".join(_fmt(value) for value in check.get("folds_ndcg@10_without") or [])
            verdict = "kept" if check.get("kept") else "left out"
            rows.append(
                (
                    f"new products take their neighbours' scores: {verdict}",
                    "",
                    f"with: {with_path or '—'}; without: {without or '—'}",
                    f"support for leaving out {_fmt(check.get('support_without'))}",
                )
            )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>component</th><th>weight</th><th>folds (held out)</th>"
            "<th>evaluation split ({} customers)</th></tr>{}</table>",
            obj.metrics.get("component_sample", ""),
            body,
        )

    @admin.display(description="per customer group")
    def group_figures(self, obj: ModelVersion) -> str:
        groups = obj.metrics.get("groups") or {}
        if not groups:
            return "—"
        rows = []
        for attribute, by_value in sorted(groups.items()):
            for value, figures in sorted(by_value.items()):
                rows.append(
                    (
                        attribute,
                        value,
                        _fmt(figures.get("ndcg@10")),
                        _fmt(figures.get("recall@10")),
                        figures.get("users", ""),
                    )
                )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><tr><th>group</th><th>value</th><th>NDCG@10</th><th>recall@10</th>"
            "<th>customers</th></tr>{}</table>",
            body,
        )

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.CHANGE)

    @admin.action(description="Activate (or roll back to) the selected version", permissions=["activate"])
    def activate_version(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        version = queryset.get()
        if version.status in (ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED):
            self.message_user(request, f"v{version.number} is {version.status} and cannot serve.", messages.ERROR)
            return
        if not ProductNeighbours.objects.filter(model_version=version).exists():
            self.message_user(
                request,
                f"v{version.number}'s lists were pruned (too old to roll back to); retrain instead.",
                messages.ERROR,
            )
            return
        model_version_activate(version=version, reason=f"activated by {request.user.get_username()}")
        self.message_user(request, f"v{version.number} is now serving.", messages.SUCCESS)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "—" if value is None else str(value)
