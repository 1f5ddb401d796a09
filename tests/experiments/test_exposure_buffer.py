"""Exposures are recorded without a database write on the request path and reach PostgreSQL once per subject,
aggregated, whatever dies in between; a late flush never brings back an erased customer's exposure."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.utils import timezone

from experiments.assignment import EXPOSURES
from experiments.models import Exposure
from experiments.services import ArmSpec, experiment_create, experiment_start
from retailsite import buffered_writes
from retailsite.privacy.services import customer_consent_set, customer_erase
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import issue_key, key_client
from tests.factories import CustomerFactory, ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> dict[str, Any]:
    tenant = TenantFactory(slug="alpha", name="Alpha")
    with tenant_context(tenant):
        for i in range(4):
            ProductFactory(tenant=tenant, external_id=f"P{i}", price=Decimal("10.00"))
        customers = {name: CustomerFactory(tenant=tenant, external_id=name) for name in ("ann", "bob", "cid")}
        experiment = experiment_start(
            experiment=experiment_create(
                name="diversity", arms=[ArmSpec("control", 50, True), ArmSpec("diverse", 50, False, max_per_category=1)]
            )
        )
    return {"tenant": tenant, "customers": customers, "experiment": experiment, "api": key_client(issue_key(tenant))}


def serve(store: dict[str, Any], name: str) -> str:
    """Ask for the customer's recommendations as a partner would; the arm key named in the recommendation id."""
    response = store["api"].get(f"/api/v1/recommendations/customers/{name}/?k=3")
    assert response.status_code == 200, response.content
    match = re.search(r"-e(\d+)([a-z][a-z0-9_]*)-", response.json()["recommendation_id"])
    assert match and int(match[1]) == store["experiment"].pk
    return match[2]


def exposures(store: dict[str, Any]) -> dict[str, Exposure]:
    """The stored exposures by customer name."""
    names = {customer.pk: name for name, customer in store["customers"].items()}
    with tenant_context(store["tenant"]):
        return {names[x.customer_id]: x for x in Exposure.objects.select_related("arm")}


def test_exposures_are_served_without_a_write_and_stored_once_per_subject_by_the_flush(store, write_buffers) -> None:
    redis_client, queued = write_buffers
    before_first = timezone.now()
    arm = serve(store, "ann")
    after_first = timezone.now()
    serve(store, "ann")
    before_last = timezone.now()
    assert serve(store, "ann") == arm  # sticky
    after_last = timezone.now()
    serve(store, "bob")
    assert exposures(store) == {}  # nothing written on the request path
    assert redis_client.llen(EXPOSURES.buffer_key) == 4
    assert queued == ["exposures"]  # one flush, queued when the buffer went from empty to one entry

    assert EXPOSURES.flush_now() == 4
    stored = exposures(store)
    assert set(stored) == {"ann", "bob"}
    ann = stored["ann"]
    assert ann.impressions == 3 and stored["bob"].impressions == 1
    assert ann.arm.key == arm and ann.subject_key == f"c:{store['customers']['ann'].pk}"
    assert before_first <= ann.first_at <= after_first
    assert before_last <= ann.last_at <= after_last
    assert EXPOSURES.flush_now() == 0
    assert exposures(store)["ann"].impressions == 3

    # A later list adds to the stored row: the first time stays, the last time moves on.
    serve(store, "ann")
    assert EXPOSURES.flush_now() == 1
    again = exposures(store)["ann"]
    assert again.impressions == 4 and again.first_at == ann.first_at and again.last_at > ann.last_at


def test_a_batch_request_records_each_customers_exposure_and_gives_each_the_arm_a_single_request_does(
    store, write_buffers
) -> None:
    redis_client, queued = write_buffers
    alone = {name: serve(store, name) for name in ("ann", "bob", "cid")}
    assert EXPOSURES.flush_now() == 3
    response = store["api"].post(
        "/api/v1/recommendations/batch/", {"customer_ids": ["ann", "bob", "cid"], "k": 3}, format="json"
    )
    assert response.status_code == 200, response.content
    labels = {
        row["customer_id"]: re.search(r"-e\d+([a-z][a-z0-9_]*)-", row["recommendation_id"])[1]
        for row in response.json()["results"]
    }
    assert labels == alone  # each customer gets the arm a single request gives them
    assert redis_client.llen(EXPOSURES.buffer_key) == 3
    assert queued == ["exposures", "exposures"]  # one flush queued per time the buffer filled from empty
    assert EXPOSURES.flush_now() == 3
    assert {name: x.impressions for name, x in exposures(store).items()} == {"ann": 2, "bob": 2, "cid": 2}


def test_a_batch_naming_an_unknown_customer_records_no_exposure(store, write_buffers) -> None:
    redis_client, _ = write_buffers
    response = store["api"].post(
        "/api/v1/recommendations/batch/", {"customer_ids": ["ann", "nobody"], "k": 3}, format="json"
    )
    assert response.status_code == 400
    assert redis_client.llen(EXPOSURES.buffer_key) == 0


def test_an_exposure_flushed_after_a_later_one_was_written_directly_keeps_the_earliest_first_time(
    store, write_buffers, monkeypatch
) -> None:
    serve(store, "ann")  # buffered
    buffered_at = timezone.now()
    # Redis is unreachable for the next list: it is written at once, before the earlier one is flushed.
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with monkeypatch.context() as away:
        away.setattr(buffered_writes, "broker_client", lambda: unreachable)
        serve(store, "ann")
    direct = exposures(store)["ann"]
    assert direct.impressions == 1 and direct.first_at > buffered_at
    assert EXPOSURES.flush_now() == 1
    merged = exposures(store)["ann"]
    assert merged.impressions == 2
    assert merged.first_at < buffered_at and merged.last_at == direct.last_at


def test_with_redis_unreachable_the_exposure_is_written_at_once(store, monkeypatch) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(buffered_writes, "broker_client", lambda: unreachable)
    arm = serve(store, "ann")
    stored = exposures(store)
    assert list(stored) == ["ann"] and stored["ann"].impressions == 1 and stored["ann"].arm.key == arm


def test_exposures_of_customers_erased_or_without_consent_before_the_flush_are_not_written(
    store, write_buffers
) -> None:
    for name in ("ann", "bob", "cid"):
        serve(store, name)
    customer_erase(store["customers"]["ann"])  # the anonymized row stays, for the orders
    customer_consent_set(customer=store["customers"]["bob"], personalization=False, marketing=False)
    assert EXPOSURES.flush_now() == 3
    assert list(exposures(store)) == ["cid"]


def test_a_flush_that_died_after_taking_its_batch_is_completed_by_the_next(store, write_buffers) -> None:
    redis_client, _ = write_buffers
    serve(store, "ann")
    serve(store, "ann")
    serve(store, "bob")
    # The dying flush: it moved the batch to its processing list, then its process was killed.
    assert len(EXPOSURES.take(redis_client, 100)) == 3
    serve(store, "ann")
    assert EXPOSURES.flush_now() == 4
    stored = exposures(store)
    assert (stored["ann"].impressions, stored["bob"].impressions) == (3, 1)
    assert redis_client.llen(EXPOSURES.processing_key) == 0
    assert redis_client.llen(EXPOSURES.buffer_key) == 0


def test_while_another_flush_holds_the_lock_a_second_one_takes_nothing(store, write_buffers) -> None:
    redis_client, _ = write_buffers
    serve(store, "ann")
    redis_client.set(EXPOSURES.lock_key, "another flush", ex=60)
    assert EXPOSURES.flush_now() is None
    assert exposures(store) == {}
    redis_client.delete(EXPOSURES.lock_key)
    assert EXPOSURES.flush_now() == 1
    assert exposures(store)["ann"].impressions == 1


def test_the_flush_task_is_accepted_by_celery() -> None:
    # What serving queues when the buffer fills from empty (eager here, with nothing buffered).
    from experiments.tasks import exposures_buffer_flush

    assert exposures_buffer_flush.apply_async(countdown=1).get() == "0 exposures flushed"
