"""Inventory routes of the partner API, relative to /api/v1/ (included into retailsite/api/urls.py's v1 patterns:
`path("", include("inventory.api_urls"))`), so their names are `api:v1:inventory-...`."""

from __future__ import annotations

from django.urls import URLPattern, path

from .api import ReorderPlanApi, StockBulkUpsertApi, StockDetailApi, StockListApi

urlpatterns: list[URLPattern] = [
    path("inventory/plan/", ReorderPlanApi.as_view(), name="inventory-plan"),
    path("inventory/stock/", StockListApi.as_view(), name="inventory-stock-list"),
    path("inventory/stock/bulk/", StockBulkUpsertApi.as_view(), name="inventory-stock-bulk"),
    path("inventory/stock/<str:product_id>/", StockDetailApi.as_view(), name="inventory-stock-detail"),
]
