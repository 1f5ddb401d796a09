"""The results page of an experiment (charts and per-arm figures) and its "promote this arm" button."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from retailsite.tenancy.admin_base import request_can
from retailsite.tenancy.permissions import Capability
from retailsite.tenancy.staff_pages import staff_context, staff_page

from .models import Arm, Experiment
from .selectors import ExperimentResults, experiment_results
from .services import ExperimentError, experiment_mark_significant, experiment_promote

COLOURS = ("#417690", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#2c3e50")


def _experiment(pk: int) -> Experiment:
    experiment = Experiment.objects.filter(pk=pk).first()
    if experiment is None:
        raise Http404("No such experiment in this store.")
    return experiment


def results_chart_configs(results: ExperimentResults) -> dict[str, dict[str, Any]]:
    labels = [day.isoformat() for day in results.days]

    def line(series: dict[str, list], title: str, y: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "line",
            "data": {
                "labels": labels,
                "datasets": [
                    {"label": key, "data": values, "borderColor": COLOURS[i % len(COLOURS)], "fill": False}
                    for i, (key, values) in enumerate(series.items())
                ],
            },
            "options": {"plugins": {"title": {"display": True, "text": title}}, "scales": {"y": y}},
        }

    return {
        "conversion": line(results.cumulative_conversion, "Conversion of exposed shoppers (cumulative)", {"min": 0}),
        "exposed": line(results.cumulative_exposed, "Exposed shoppers (cumulative)", {"min": 0}),
        "p_values": line(
            results.p_values,
            f"Always-valid p-value vs control (significant at or below {results.plan.alpha_per_comparison:g})",
            {"min": 0, "max": 1},
        ),
    }


@staff_page
def experiment_results_page(request: HttpRequest, experiment_pk: int) -> HttpResponse:
    experiment = _experiment(experiment_pk)
    results = experiment_results(experiment)
    if results.significant and experiment.significant_at is None:
        experiment_mark_significant(experiment=experiment)
    context = staff_context(
        request,
        f"Experiment: {experiment.name}",
        experiment=experiment,
        results=results,
        charts=results_chart_configs(results),
        may_promote=request_can(request, Capability.CHANGE) and experiment.status != Experiment.Status.DRAFT,
    )
    return render(request, "experiments/results.html", context)


@require_POST
@staff_page
def experiment_promote_arm(request: HttpRequest, experiment_pk: int) -> HttpResponse:
    if not request_can(request, Capability.CHANGE):
        raise PermissionDenied("Your role in this store may not promote an arm.")
    experiment = _experiment(experiment_pk)
    arm = (
        Arm.objects.filter(experiment=experiment, pk=request.POST.get("arm") or 0).first()
        if (request.POST.get("arm", "").isdigit())
        else None
    )
    if arm is None:
        messages.error(request, "Pick one of the experiment's arms to promote.")
    else:
        try:
            experiment_promote(experiment=experiment, arm=arm, actor=f"by {request.user.get_username()}")
        except ExperimentError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Arm {arm.key!r} now serves every shopper; the experiment is stopped.")
    return redirect("experiments:results", experiment_pk=experiment.pk)
