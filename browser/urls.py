"""Browser routes, mounted at /api/v1/browser/ (outside the partner API's key scheme: publishable keys)."""

from __future__ import annotations

from django.urls import URLPattern, path

from .api import BrowserEventApi, BrowserRecommendationsApi

app_name = "browser"

urlpatterns: list[URLPattern] = [
    path("recommendations/", BrowserRecommendationsApi.as_view(), name="recommendations"),
    path("events/", BrowserEventApi.as_view(), name="events"),
]
