"""Staff pages of experiments, mounted at /staff/experiments/."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import staff_views

app_name = "experiments"

urlpatterns: list[URLPattern] = [
    path("<int:experiment_pk>/", staff_views.experiment_results_page, name="results"),
    path("<int:experiment_pk>/promote/", staff_views.experiment_promote_arm, name="promote"),
]
