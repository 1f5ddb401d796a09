"""The one access rule for staff pages outside the admin (/staff/...): forecasts, reorder plans.

Login (the admin's login page), then the capability in the store the user works on (TenantMiddleware
selected it from the membership); a user who may see several stores and has none selected (a platform
superuser) is asked to choose one with the store switcher.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .admin_base import request_can
from .context import current_tenant_id
from .permissions import Capability

View = Callable[..., HttpResponse]


def staff_context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    """The admin's page context (header, store switcher) with a title and the page's own values."""
    return {**admin.site.each_context(request), "title": title, **extra}


def staff_page(view: View) -> View:
    """Login, then Capability.VIEW in the selected store (403 otherwise); no store selected: the choose-a-store page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request_can(request, Capability.VIEW):
            raise PermissionDenied("Your role in this store may not view these pages.")
        if current_tenant_id() is None:
            return render(request, "staff/choose_store.html", staff_context(request, "Choose a store"))
        return view(request, *args, **kwargs)

    return login_required(wrapped, login_url="admin:login")
