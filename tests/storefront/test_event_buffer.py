"""Storefront events go through a Redis buffer and reach PostgreSQL once each, whatever dies in between."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.test import Client

from retailsite.commerce.models import Customer, Event
from retailsite.storefront import event_buffer
from retailsite.tenancy.context import tenant_context

from .conftest import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def buffer(monkeypatch):
    """The buffer switched on against the test Redis; flushes are queued into a list instead of Celery."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = (event_buffer.BUFFER_KEY, event_buffer.PROCESSING_KEY, event_buffer.FLUSH_LOCK_KEY)
    client.delete(*keys)
    queued: list[str] = []
    monkeypatch.setattr(event_buffer, "events_buffer_client", lambda: client)
    monkeypatch.setattr(event_buffer, "_queue_flush", lambda: queued.append("flush"))
    yield client, queued
    client.delete(*keys)


def stored(shop: Shop) -> list[tuple[int | None, str, int, str]]:
    with tenant_context(shop.tenant):
        return list(Event.objects.order_by("pk").values_list("customer_id", "session_id", "product_id", "event_type"))


def test_a_page_view_is_answered_before_it_is_written_and_written_once_by_the_flush(
    client: Client, shop: Shop, buffer
) -> None:
    redis_client, queued = buffer
    assert client.get(shop.product_url("Copper Kettle")).status_code == 200
    assert client.get(shop.product_url("Leaf Rake")).status_code == 200
    assert stored(shop) == []  # nothing committed on the request path
    assert redis_client.llen(event_buffer.BUFFER_KEY) == 2
    assert queued == ["flush"]  # one flush for the buffer going from empty to one entry
    assert event_buffer.events_buffer_flush_now() == 2
    products = [shop.products["Copper Kettle"].pk, shop.products["Leaf Rake"].pk]
    assert [row[2] for row in stored(shop)] == products
    assert all(row[3] == "view" and row[1] for row in stored(shop))
    assert event_buffer.events_buffer_flush_now() == 0
    assert len(stored(shop)) == 2


def test_a_flush_that_died_after_taking_its_batch_loses_nothing(client: Client, shop: Shop, buffer) -> None:
    redis_client, _ = buffer
    for name in ("Copper Kettle", "Steel Kettle", "Glass Kettle"):
        client.get(shop.product_url(name))
    # The dying flush: it moved the batch to its processing list, then its process was killed.
    take = redis_client.register_script(event_buffer._TAKE_BATCH_LUA)
    assert len(take(keys=[event_buffer.BUFFER_KEY, event_buffer.PROCESSING_KEY], args=[100])) == 3
    assert redis_client.llen(event_buffer.BUFFER_KEY) == 0
    client.get(shop.product_url("Blue Mug"))
    assert event_buffer.events_buffer_flush_now() == 4
    assert len(stored(shop)) == 4
    assert redis_client.llen(event_buffer.PROCESSING_KEY) == 0


def test_a_batch_written_twice_is_stored_once(shop: Shop, client: Client, buffer) -> None:
    redis_client, _ = buffer
    client.get(shop.product_url("Copper Kettle"))
    (raw,) = redis_client.lrange(event_buffer.BUFFER_KEY, 0, -1)
    # PostgreSQL committed, then the flush died before deleting its processing list: the next flush writes again.
    event_buffer.events_write([event_buffer.PendingEvent.from_json(raw)])
    redis_client.rpush(event_buffer.PROCESSING_KEY, raw)
    assert event_buffer.events_buffer_flush_now() == 2
    assert len(stored(shop)) == 1


def test_while_another_flush_runs_a_second_one_takes_nothing(shop: Shop, client: Client, buffer) -> None:
    redis_client, _ = buffer
    client.get(shop.product_url("Copper Kettle"))
    redis_client.set(event_buffer.FLUSH_LOCK_KEY, "1", ex=60)
    assert event_buffer.events_buffer_flush_now() is None
    assert redis_client.llen(event_buffer.BUFFER_KEY) == 1
    redis_client.delete(event_buffer.FLUSH_LOCK_KEY)
    assert event_buffer.events_buffer_flush_now() == 1


def test_without_redis_the_view_is_written_at_once(shop: Shop, client: Client, monkeypatch) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(event_buffer, "events_buffer_client", lambda: unreachable)
    assert client.get(shop.product_url("Copper Kettle")).status_code == 200
    assert [row[2] for row in stored(shop)] == [shop.products["Copper Kettle"].pk]


def test_events_of_a_customer_erased_before_the_flush_are_dropped(shop: Shop, signed_in_client: Client, buffer) -> None:
    signed_in_client.get(shop.product_url("Copper Kettle"))
    Client().get(shop.product_url("Leaf Rake"))  # an anonymous visitor
    with tenant_context(shop.tenant):
        Customer.objects.filter(pk=shop.shopper.pk).delete()
    assert event_buffer.events_buffer_flush_now() == 2
    assert [(row[0], row[2]) for row in stored(shop)] == [(None, shop.products["Leaf Rake"].pk)]


def test_the_flush_task_is_accepted_by_celery() -> None:
    # What the storefront queues when the buffer fills from empty (eager here, with nothing buffered).
    from retailsite.storefront.tasks import events_buffer_flush

    assert events_buffer_flush.apply_async(countdown=event_buffer.FLUSH_DELAY_SECONDS).get() == "0 events flushed"
