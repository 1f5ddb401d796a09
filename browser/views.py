"""The widget demo page: the store's first active publishable key, used by the widget on a plain page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

from .models import PublishableKey


def widget_demo(request: HttpRequest, store: str) -> HttpResponse:
    tenant = Tenant.objects.filter(slug=store, is_active=True).first()
    if tenant is None:
        raise Http404("No such store.")
    origin = f"{request.scheme}://{request.get_host()}"
    with tenant_context(tenant):
        key = next(
            (k for k in PublishableKey.objects.filter(is_active=True) if origin in k.allowed_origins),
            None,
        )
    context = {
        "tenant": tenant,
        "key": key,
        "origin": origin,
        "endpoint": request.build_absolute_uri("/api/v1/browser"),
    }
    return render(request, "browser/widget_demo.html", context)
