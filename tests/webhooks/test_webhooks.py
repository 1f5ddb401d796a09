"""Webhooks: signed per Standard Webhooks (checked with the standardwebhooks library), retried after a failing
receiver (a real HTTP server on this machine), nothing lost, and no deliveries to private addresses in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from experiments.services import ArmSpec, experiment_create, experiment_mark_significant
from recommendations.models import ModelVersion
from recommendations.services import model_version_activate
from retailsite.commerce.importers.service import import_store_data
from retailsite.tenancy.context import tenant_context
from tests.factories import ModelVersionFactory, TenantFactory
from webhooks.models import WebhookDelivery
from webhooks.services import MAX_ATTEMPTS, WebhookError, webhook_endpoint_create
from webhooks.tasks import sweep_webhook_deliveries

from .conftest import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():  # type: ignore[no-untyped-def]
    return TenantFactory(slug="alpha")


def _verified(secret: str, headers: dict[str, str], body: bytes) -> dict:
    return Webhook(secret).verify(body, headers)  # raises WebhookVerificationError on a bad signature


def test_deliveries_are_signed_and_retried_after_a_failing_receiver(
    store, receiver, django_capture_on_commit_callbacks
) -> None:
    receiver.statuses = [500, 503]  # fails twice, then accepts
    with tenant_context(store):
        endpoint = webhook_endpoint_create(url=receiver.url, events=["model_version.activated"])
        version = ModelVersionFactory(
            tenant=store, algorithm="hybrid", status=ModelVersion.Status.TRAINING, metrics={"ndcg@10": 0.2}
        )
        with django_capture_on_commit_callbacks(execute=True):
            model_version_activate(version=version, reason="test")
        delivery = WebhookDelivery.objects.get()
    assert len(receiver.received) == 3
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1  # one message, three attempts
    for headers, body in receiver.received:
        payload = _verified(str(endpoint.secret), headers, body)
        assert payload["type"] == "model_version.activated" and payload["data"]["model_version"] == version.pk
    with pytest.raises(WebhookVerificationError):  # a body changed in transit fails verification
        _verified(
            str(endpoint.secret), receiver.received[0][0], receiver.received[0][1].replace(b"activated", b"rejected")
        )
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)


def test_nothing_is_lost_when_the_receiver_is_down_and_a_dead_receiver_is_given_up(
    store, receiver, settings, django_capture_on_commit_callbacks, tmp_path: Path
) -> None:
    url = receiver.url
    receiver.close()  # down: connections are refused
    with tenant_context(store):
        webhook_endpoint_create(url=url, events=["import.finished"])
        (tmp_path / "products.csv").write_text("product_id,name\nP1,Kettle\n")
        with django_capture_on_commit_callbacks(execute=True):
            import_store_data(tenant=store, files={"products": tmp_path / "products.csv"})
        delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS  # every attempt refused, then given up
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error

    # Another event while the receiver is down, with the retry task lost: the sweep finds it once it is due.
    again = Receiver()
    try:
        with tenant_context(store):
            endpoint = webhook_endpoint_create(url=again.url, events=["experiment.significant"])
            experiment = experiment_create(name="e", arms=[ArmSpec("a", 50, True), ArmSpec("b", 50)])
            experiment_mark_significant(experiment=experiment)  # no on-commit here: the task is never queued
            assert WebhookDelivery.objects.get(endpoint=endpoint).status == "pending"
            WebhookDelivery.objects.filter(endpoint=endpoint).update(next_attempt_at="2000-01-01T00:00:00Z")
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep_webhook_deliveries() == 1
        with tenant_context(store):
            assert WebhookDelivery.objects.get(endpoint=endpoint).status == "succeeded"
        payload = _verified(str(endpoint.secret), *again.received[0])
        assert payload["data"] == {"experiment": experiment.pk, "name": "e"}
    finally:
        again.close()


def test_private_and_loopback_urls_are_refused_outside_tests(store, settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    settings.DEBUG = False
    with tenant_context(store):
        for url in ("https://127.0.0.1/hook", "https://10.1.2.3/x", "https://169.254.169.254/latest", "https://[::1]/"):
            with pytest.raises(WebhookError, match="public addresses only"):
                webhook_endpoint_create(url=url, events=[])
        with pytest.raises(WebhookError, match="https"):
            webhook_endpoint_create(url="http://93.184.216.34/hook", events=[])
        with pytest.raises(WebhookError, match="Unknown event"):
            webhook_endpoint_create(url="https://93.184.216.34/hook", events=["order.paid"])
        assert webhook_endpoint_create(url="https://93.184.216.34/hook", events=[]).pk  # a public address
