"""The Prometheus scrape endpoint, `/metrics`: from this machine, or with the metrics bearer token.

Requests from a loopback address with no proxy header (X-Forwarded-For / Forwarded) are local: a
Prometheus or agent on the same host. Anything else must send `Authorization: Bearer <METRICS_TOKEN>`;
without a configured token, remote scrapes are refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import render_metrics


def metrics_token() -> str:
    return str(getattr(settings, "METRICS_TOKEN", "") or os.environ.get("METRICS_TOKEN", ""))


def is_local_request(request: HttpRequest) -> bool:
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False  # came through a proxy: the proxy's loopback address says nothing about the client
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def has_metrics_token(request: HttpRequest) -> bool:
    expected = metrics_token()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), expected)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not (is_local_request(request) or has_metrics_token(request)):
        return HttpResponse(
            "Metrics are served to localhost or with the metrics bearer token.\n", status=403, content_type="text/plain"
        )
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
