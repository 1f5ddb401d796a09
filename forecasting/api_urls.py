"""Forecasting routes of the partner API, relative to /api/v1/ (included from retailsite/api/urls.py with
`path("", include("forecasting.api_urls"))`, inside the "api:v1" namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from .api import CustomerInsightsApi, ForecastListApi

urlpatterns: list[URLPattern] = [
    path("forecasts/", ForecastListApi.as_view(), name="forecast-list"),
    path("customers/<str:customer_id>/insights", CustomerInsightsApi.as_view(), name="customer-insights"),
]
