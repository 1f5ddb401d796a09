"""Count and time every HTTP request by route pattern, method and status.

Goes first in MIDDLEWARE so it also sees answers given by other middleware (HTTPS redirects, static
files, unknown stores). The route label is the URL pattern ("s/<slug:store>/p/<int:product_id>/"),
never the raw path, so the number of series stays bounded whatever URLs clients send.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .metrics import http_request_duration_seconds, http_requests_total

UNMATCHED_ROUTE = "<unmatched>"
STATIC_ROUTE = "<static>"


def route_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return str(match.route)
    static_url = "/" + str(getattr(settings, "STATIC_URL", "static/")).lstrip("/")
    if request.path_info.startswith(static_url):
        return STATIC_ROUTE
    return UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        status = "500"  # if anything below raises, the client gets a server error
        try:
            response = self.get_response(request)
            status = str(response.status_code)
            return response
        finally:
            labels = {"route": route_label(request), "method": _method_label(request.method), "status": status}
            http_requests_total.labels(**labels).inc()
            http_request_duration_seconds.labels(**labels).observe(time.perf_counter() - started)


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method_label(method: str | None) -> str:
    # Arbitrary methods from clients would each open a new series.
    return method if method in _KNOWN_METHODS else "OTHER"
