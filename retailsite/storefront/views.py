"""Storefront pages. The tenant comes from the path or mapped domain (TenantMiddleware)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from retailsite.commerce.selectors import product_list_popular


def store_home(request: HttpRequest, store: str | None = None) -> HttpResponse:
    products = product_list_popular(limit=24)
    return render(request, "storefront/home.html", {"tenant": request.tenant, "products": products})
