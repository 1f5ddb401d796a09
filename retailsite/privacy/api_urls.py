"""API routes of the privacy app, included under /api/v1/ by retailsite/api/urls.py (V1_EXTENSIONS)."""

from __future__ import annotations

from django.urls import path

from .api import CustomerExportApi

urlpatterns = [
    path("customers/<str:customer_id>/export/", CustomerExportApi.as_view(), name="customer-export"),
]
