"""Staff pages of inventory, mounted at /staff/inventory/ by retailsite/urls.py (`include("inventory.staff_urls")`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import staff_views

app_name = "inventory"

urlpatterns: list[URLPattern] = [
    path("plan/", staff_views.plan_view, name="plan"),
    path("<int:product_pk>/", staff_views.product_view, name="product"),
]
