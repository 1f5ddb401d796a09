"""Retention: each store's raw events older than its `event_retention_days` are purged by the beat task (the other
kinds the same purge removes are tested with their owners: exposures in tests/experiments, sync deletions in
tests/api/test_sync.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from retailsite.commerce.models import Event
from retailsite.privacy.services import personal_data_purge_expired
from retailsite.privacy.tasks import purge_expired_events
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import EventFactory, TenantFactory

from .conftest import audit_entries

pytestmark = pytest.mark.django_db


def store_with_events(slug: str, retention_days: int, ages_in_days: list[int]) -> Tenant:
    tenant = TenantFactory(slug=slug)
    tenant.settings = {"event_retention_days": retention_days}
    tenant.save()
    now = timezone.now()
    for age in ages_in_days:
        EventFactory(tenant=tenant, occurred_at=now - dt.timedelta(days=age, hours=1))
    return tenant


def event_ages(tenant: Tenant) -> list[int]:
    now = timezone.now()
    with tenant_context(tenant):
        return sorted((now - occurred).days for occurred in Event.objects.values_list("occurred_at", flat=True))


def test_events_older_than_the_retention_are_purged_and_the_rest_kept() -> None:
    tenant = store_with_events("short-memory", 30, [1, 29, 31, 400])
    assert personal_data_purge_expired(tenant=tenant)["events"] == 2
    assert event_ages(tenant) == [1, 29]
    (entry,) = audit_entries(tenant, object_type="commerce_event", action="delete")
    assert (entry.row_count, entry.actor) == (2, "system:retention:events")
    assert personal_data_purge_expired(tenant=tenant)["events"] == 0  # safe to run again


def test_a_large_purge_goes_in_batches() -> None:
    tenant = store_with_events("batches", 10, [20, 21, 22, 23, 24])
    assert personal_data_purge_expired(tenant=tenant, batch_size=2)["events"] == 5
    assert [e.row_count for e in audit_entries(tenant, object_type="commerce_event", action="delete")] == [2, 2, 1]


def test_the_beat_task_purges_every_store_by_its_own_retention() -> None:
    limited = store_with_events("limited", 30, [5, 45])
    keeper = store_with_events("keeper", 0, [5, 45, 4000])  # 0 = keep every event
    queued = purge_expired_events()  # Celery runs eagerly in tests
    assert {limited.pk, keeper.pk} <= set(queued)
    assert event_ages(limited) == [5]
    assert event_ages(keeper) == [5, 45, 4000]
