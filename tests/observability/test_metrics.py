"""The /metrics endpoint: counts requests by route and status, counts tasks, reports model age, is protected."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from recommendations.models import ModelVersion
from retailsite.tenancy.tasks import train_tenant_step
from tests.factories import ModelVersionFactory, TenantFactory

from .conftest import sample_value

pytestmark = pytest.mark.django_db

REQUESTS = "retailsite_http_requests_total"


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_each_request_is_counted_under_its_route_and_status(client) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    after = scrape(client)
    assert (
        sample_value(after, REQUESTS, route="healthz", method="GET", status="200")
        - sample_value(before, REQUESTS, route="healthz", method="GET", status="200")
        == 3
    )
    assert (
        sample_value(after, REQUESTS, route="<unmatched>", method="GET", status="404")
        - sample_value(before, REQUESTS, route="<unmatched>", method="GET", status="404")
        == 1
    )
    # Latency is recorded for the same series (one observation per request).
    assert (
        sample_value(
            after, "retailsite_http_request_duration_seconds_count", route="healthz", method="GET", status="200"
        )
        - sample_value(
            before, "retailsite_http_request_duration_seconds_count", route="healthz", method="GET", status="200"
        )
        == 3
    )


def test_a_storefront_request_is_labelled_with_its_url_pattern_not_its_path(client) -> None:
    TenantFactory(slug="corner")
    before = scrape(client)
    client.get("/s/corner/p/999999/")
    after = scrape(client)
    route = "s/<slug:store>/p/<int:product_id>/"
    assert (
        sample_value(after, REQUESTS, route=route, method="GET", status="404")
        - sample_value(before, REQUESTS, route=route, method="GET", status="404")
        == 1
    )
    assert "/s/corner/p/999999/" not in after


def test_a_finished_task_is_counted_by_name_and_outcome(client) -> None:
    import retailsite.observability.celery_metrics  # noqa: F401  (what CELERY_IMPORTS does in a worker)

    name = "retailsite.tenancy.tasks.train_tenant_step"
    before = scrape(client)
    result = train_tenant_step.apply(args=(987654321, "recommendations"))  # no such store: returns at once
    assert "gone" in result.get()
    after = scrape(client)
    assert (
        sample_value(after, "retailsite_celery_tasks_total", task=name, outcome="succeeded")
        - sample_value(before, "retailsite_celery_tasks_total", task=name, outcome="succeeded")
        == 1
    )
    assert (
        sample_value(after, "retailsite_celery_task_duration_seconds_count", task=name, outcome="succeeded")
        - sample_value(before, "retailsite_celery_task_duration_seconds_count", task=name, outcome="succeeded")
        == 1
    )


def test_model_age_is_the_time_since_the_active_version_was_activated(client) -> None:
    store, other = TenantFactory(slug="aged"), TenantFactory(slug="untrained")
    ModelVersionFactory(
        tenant=store, status=ModelVersion.Status.RETIRED, activated_at=timezone.now() - dt.timedelta(days=3)
    )
    ModelVersionFactory(
        tenant=store, status=ModelVersion.Status.ACTIVE, activated_at=timezone.now() - dt.timedelta(hours=2)
    )
    exposition = scrape(client)
    age = sample_value(exposition, "retailsite_model_age_seconds", tenant="aged", model="recommendations")
    assert 2 * 3600 <= age < 2 * 3600 + 600  # the active version's age, not the retired one's
    assert f'tenant="{other.slug}"' not in exposition  # no active model: no age series
    assert sample_value(exposition, "retailsite_model_age_scrape_success") == 1


def test_remote_scrapes_need_the_bearer_token(client, settings) -> None:
    settings.METRICS_TOKEN = "scrape-secret-0123456789"
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", **remote).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **remote).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789", **remote).status_code == 200


def test_a_proxied_request_from_loopback_is_not_local(client, settings) -> None:
    settings.METRICS_TOKEN = ""
    # A reverse proxy on this host connects from 127.0.0.1; the client behind it is not local.
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 403
    assert client.get("/metrics").status_code == 200
