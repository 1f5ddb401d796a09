"""Prometheus metrics: requests, Celery tasks, and the age of each store's active recommendation model.

Request and task metrics are counters and histograms updated where the work happens. With several
processes (gunicorn workers, Celery pool children) each process writes its values to files under
PROMETHEUS_MULTIPROC_DIR and a scrape sums them (prometheus_client's multiprocess mode); without that
variable the values live in the scraping process only, which is right for `runserver` and tests.

Model age is not stored anywhere: it is read from PostgreSQL at scrape time, in platform scope, so it
is always current and needs no process to keep it up to date.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS = (0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 10800.0)

http_requests_total = Counter(
    "retailsite_http_requests",
    "HTTP requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
)
http_request_duration_seconds = Histogram(
    "retailsite_http_request_duration_seconds",
    "Time to answer an HTTP request, by route, method and status.",
    ["route", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
celery_tasks_total = Counter(
    "retailsite_celery_tasks",
    "Celery tasks finished, by task name and outcome (succeeded, failed, retried, rejected, revoked).",
    ["task", "outcome"],
)
celery_task_duration_seconds = Histogram(
    "retailsite_celery_task_duration_seconds",
    "Run time of a Celery task, by task name and outcome.",
    ["task", "outcome"],
    buckets=TASK_BUCKETS,
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class ModelAgeCollector(Collector):
    """Seconds since each store's active recommendation model was activated, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "retailsite_model_age_seconds",
            "Seconds since the active recommendations model of a store was activated.",
            labels=["tenant", "model"],
        )
        scrape_ok = GaugeMetricFamily(
            "retailsite_model_age_scrape_success",
            "1 when the model ages could be read from the database.",
        )
        try:
            rows = active_model_activation_times()
        except Exception as error:  # the database is down: report that, never fail the whole scrape
            logger.warning("model age not collected: %s", type(error).__name__)
            scrape_ok.add_metric([], 0.0)
            yield scrape_ok
            return
        now = timezone.now()
        for slug, activated_at in rows:
            age.add_metric([slug, "recommendations"], max(0.0, (now - activated_at).total_seconds()))
        scrape_ok.add_metric([], 1.0)
        yield age
        yield scrape_ok


def active_model_activation_times() -> list[tuple[str, dt.datetime]]:
    """(store slug, activated_at) of every active recommendations model version, across all stores."""
    from recommendations.models import ModelVersion
    from retailsite.tenancy.context import platform_context

    # A savepoint: a failed read must not poison the request's transaction (TenantMiddleware's).
    with platform_context(), transaction.atomic():
        return list(
            ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE, activated_at__isnull=False)
            .order_by("tenant__slug")
            .values_list("tenant__slug", "activated_at")
        )


def render_metrics() -> bytes:
    """The text exposition of every metric: this process's (or all processes' in multiprocess mode) + model age."""
    if multiprocess_mode():
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)
        body = generate_latest(process_registry)
    else:
        body = generate_latest(REGISTRY)
    scrape_time_registry = CollectorRegistry()
    scrape_time_registry.register(ModelAgeCollector())
    return body + generate_latest(scrape_time_registry)
