"""Upload routes of the partner API, relative to /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, path

from .api import ImportDetailApi, ImportListApi

urlpatterns: list[URLPattern] = [
    path("imports/", ImportListApi.as_view(), name="import-list"),
    path("imports/<str:job_id>/", ImportDetailApi.as_view(), name="import-detail"),
]
