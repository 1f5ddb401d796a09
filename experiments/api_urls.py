"""Experiment routes of the partner API, relative to /api/v1/ (names `api:v1:experiment-...`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from .api import ExperimentActionApi, ExperimentDetailApi, ExperimentListApi, ExperimentResultsApi

urlpatterns: list[URLPattern] = [
    path("experiments/", ExperimentListApi.as_view(), name="experiment-list"),
    path("experiments/<str:experiment_id>/", ExperimentDetailApi.as_view(), name="experiment-detail"),
    path("experiments/<str:experiment_id>/results/", ExperimentResultsApi.as_view(), name="experiment-results"),
    path(
        "experiments/<str:experiment_id>/<str:action>/",
        ExperimentActionApi.as_view(),
        name="experiment-action",
    ),
]
