"""Prometheus metrics: requests, Celery tasks, and collectors the apps register for scrape time.

Request and task metrics are counters and histograms updated where the work happens. With several
processes (gunicorn workers, Celery pool children) each process writes its values to files under
PROMETHEUS_MULTIPROC_DIR and a scrape sums them (prometheus_client's multiprocess mode); without that
variable the values live in the scraping process only, which is right for `runserver` and tests.

Figures read from PostgreSQL at scrape time (the age of each store's active recommendation model,
registered by the recommendations app through `scrape.py`) are always current and need no process to keep them
up to date.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

from .scrape import scrape_time_collectors

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


def render_metrics() -> bytes:
    """Every metric as text: this process's (or all processes' in multiprocess mode), then the scrape-time ones."""
    if multiprocess_mode():
        process_registry = CollectorRegistry()
        MultiProcessCollector(process_registry)
        body = generate_latest(process_registry)
    else:
        body = generate_latest(REGISTRY)
    scrape_time_registry = CollectorRegistry()
    for factory in scrape_time_collectors():
        scrape_time_registry.register(factory())
    return body + generate_latest(scrape_time_registry)
