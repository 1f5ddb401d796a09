"""Fixtures for the observability tests: the metrics middleware installed, metric values read back."""

from __future__ import annotations

import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

METRICS_MIDDLEWARE = "retailsite.observability.middleware.RequestMetricsMiddleware"


@pytest.fixture(autouse=True)
def _metrics_middleware(settings) -> None:
    """First in MIDDLEWARE, as in production settings (added here if settings do not have it yet)."""
    if METRICS_MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [METRICS_MIDDLEWARE, *settings.MIDDLEWARE]


def sample_value(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
