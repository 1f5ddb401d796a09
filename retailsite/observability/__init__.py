"""Observability: Prometheus metrics, structured (JSON) logs with request ids, and the /metrics view.

Not a Django app (no models). Wiring, done in settings and urls:

- `retailsite.observability.middleware.RequestMetricsMiddleware` first in MIDDLEWARE (counts and times
  every request by route, method and status);
- `retailsite.observability.celery_metrics` in CELERY_IMPORTS (task counts, durations, failures via signals);
- the `request_id` filter and `json` formatter of `retailsite.observability.logs` in LOGGING;
- `path("metrics", metrics_view)` in the root URL conf (localhost, or `Authorization: Bearer $METRICS_TOKEN`).

Under gunicorn (several processes) set PROMETHEUS_MULTIPROC_DIR to an empty directory shared by the web and
worker processes of one machine; see docs/operations.md.
"""
