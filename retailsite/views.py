"""Platform-level pages: the landing page listing stores, and liveness/readiness probes."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from retailsite.tenancy.models import Tenant


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"tenants": Tenant.objects.filter(is_active=True)})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {error.__class__.__name__}"
    status = 200 if all(v == "ok" for v in checks.values()) else 503
    return JsonResponse({"status": "ok" if status == 200 else "unavailable", "checks": checks}, status=status)
