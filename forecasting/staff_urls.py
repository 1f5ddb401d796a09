"""Staff pages of forecasting, mounted at /staff/ (`path("staff/", include("forecasting.staff_urls"))`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import staff_views

app_name = "forecasting"

urlpatterns: list[URLPattern] = [
    path("forecasts/", staff_views.forecast_index, name="forecast-index"),
    path("forecasts/<int:product_pk>/", staff_views.forecast_product, name="forecast-product"),
    path("forecasts/categories/", staff_views.forecast_categories, name="forecast-categories"),
    path("forecasts/categories/<int:category_pk>/", staff_views.forecast_category, name="forecast-category"),
    path("forecasts/total/", staff_views.forecast_store_total, name="forecast-total"),
    path("customer-models/", staff_views.customer_models, name="customer-models"),
]
