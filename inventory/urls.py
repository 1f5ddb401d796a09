"""Staff pages of inventory, mounted at /staff/inventory/ (`path("staff/inventory/", include("inventory.urls"))`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "inventory"

urlpatterns: list[URLPattern] = [
    path("plan/", views.plan_view, name="plan"),
    path("<int:product_pk>/", views.product_view, name="product"),
]
