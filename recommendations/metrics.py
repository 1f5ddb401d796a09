"""Prometheus figures of the recommendations app, registered by path with retailsite.observability in ready().

Model age is not stored anywhere: it is read from PostgreSQL at scrape time, in platform scope, so it
is always current and needs no process to keep it up to date.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from django.db import transaction
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from retailsite.tenancy.context import platform_context

from .models import ModelVersion

logger = logging.getLogger(__name__)


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
    # A savepoint: a failed read must not poison the request's transaction (TenantMiddleware's).
    with platform_context(), transaction.atomic():
        return list(
            ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE, activated_at__isnull=False)
            .order_by("tenant__slug")
            .values_list("tenant__slug", "activated_at")
        )
