"""Storefront events go through a Redis buffer and reach PostgreSQL once each, whatever dies in between."""

from __future__ import annotations

import dataclasses

import pytest
import redis
from django.test import Client

from retailsite import buffered_writes
from retailsite.commerce.models import Customer, Event
from retailsite.commerce.services import events_write_recorded
from retailsite.privacy.services import customer_erase
from retailsite.storefront.event_buffer import EVENTS
from retailsite.tenancy.context import tenant_context

from .conftest import Shop

pytestmark = pytest.mark.django_db


def stored(shop: Shop) -> list[tuple[int | None, str, int, str]]:
    with tenant_context(shop.tenant):
        return list(Event.objects.order_by("pk").values_list("customer_id", "session_id", "product_id", "event_type"))


def test_a_page_view_is_answered_before_it_is_written_and_written_once_by_the_flush(
    client: Client, shop: Shop, write_buffers
) -> None:
    redis_client, queued = write_buffers
    assert client.get(shop.product_url("Copper Kettle")).status_code == 200
    assert client.get(shop.product_url("Leaf Rake")).status_code == 200
    assert stored(shop) == []  # nothing committed on the request path
    assert redis_client.llen(EVENTS.buffer_key) == 2
    assert queued == ["events"]  # one flush for the buffer going from empty to one entry
    assert EVENTS.flush_now() == 2
    products = [shop.products["Copper Kettle"].pk, shop.products["Leaf Rake"].pk]
    assert [row[2] for row in stored(shop)] == products
    assert all(row[3] == "view" and row[1] for row in stored(shop))
    assert EVENTS.flush_now() == 0
    assert len(stored(shop)) == 2


def test_a_flush_that_died_after_taking_its_batch_loses_nothing(client: Client, shop: Shop, write_buffers) -> None:
    redis_client, _ = write_buffers
    for name in ("Copper Kettle", "Steel Kettle", "Glass Kettle"):
        client.get(shop.product_url(name))
    # The dying flush: it moved the batch to its processing list, then its process was killed.
    assert len(EVENTS.take(redis_client, 100)) == 3
    assert redis_client.llen(EVENTS.buffer_key) == 0
    client.get(shop.product_url("Blue Mug"))
    assert EVENTS.flush_now() == 4
    assert len(stored(shop)) == 4
    assert redis_client.llen(EVENTS.processing_key) == 0


def test_a_batch_written_twice_is_stored_once(shop: Shop, client: Client, write_buffers) -> None:
    redis_client, _ = write_buffers
    client.get(shop.product_url("Copper Kettle"))
    (raw,) = redis_client.lrange(EVENTS.buffer_key, 0, -1)
    # PostgreSQL committed, then the flush died before deleting its processing list: the next flush writes again.
    events_write_recorded([EVENTS.decode(raw)])
    redis_client.rpush(EVENTS.processing_key, raw)
    assert EVENTS.flush_now() == 2
    assert len(stored(shop)) == 1


def test_while_another_flush_runs_a_second_one_takes_nothing(shop: Shop, client: Client, write_buffers) -> None:
    redis_client, _ = write_buffers
    client.get(shop.product_url("Copper Kettle"))
    redis_client.set(EVENTS.lock_key, "1", ex=60)
    assert EVENTS.flush_now() is None
    assert redis_client.llen(EVENTS.buffer_key) == 1
    redis_client.delete(EVENTS.lock_key)
    assert EVENTS.flush_now() == 1


def test_a_flush_that_outlived_its_lock_leaves_the_next_flushs_batch_alone(
    shop: Shop, client: Client, write_buffers
) -> None:
    redis_client, _ = write_buffers
    client.get(shop.product_url("Copper Kettle"))
    client.get(shop.product_url("Leaf Rake"))
    taken_over: list[bytes] = []

    def slow_write(items: list) -> None:
        # While this flush writes, its lock expires; the next flush takes the lock and writes the same batch,
        # then moves a new view (Blue Mug) into the processing list.
        events_write_recorded(items)
        redis_client.set(EVENTS.lock_key, "next flush", ex=60)
        client.get(shop.product_url("Blue Mug"))
        redis_client.delete(EVENTS.processing_key)
        taken_over.extend(EVENTS.take(redis_client, 100))

    slow = dataclasses.replace(EVENTS, write=slow_write)
    assert slow.flush_now() == 2
    # The slow flush stopped without touching the next flush's batch or its lock.
    assert redis_client.lrange(EVENTS.processing_key, 0, -1) == taken_over
    assert len(taken_over) == 1
    assert redis_client.get(EVENTS.lock_key) == b"next flush"
    redis_client.delete(EVENTS.lock_key)  # the next flush finishes (here: a new one writes what it left)
    assert EVENTS.flush_now() == 1
    assert sorted(row[2] for row in stored(shop)) == sorted(
        shop.products[name].pk for name in ("Copper Kettle", "Leaf Rake", "Blue Mug")
    )


def test_without_redis_the_view_is_written_at_once(shop: Shop, client: Client, monkeypatch) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(buffered_writes, "broker_client", lambda: unreachable)
    assert client.get(shop.product_url("Copper Kettle")).status_code == 200
    assert [row[2] for row in stored(shop)] == [shop.products["Copper Kettle"].pk]


def test_events_of_a_customer_erased_before_the_flush_are_dropped(
    shop: Shop, signed_in_client: Client, write_buffers
) -> None:
    signed_in_client.get(shop.product_url("Copper Kettle"))
    Client().get(shop.product_url("Leaf Rake"))  # an anonymous visitor
    with tenant_context(shop.tenant):
        Customer.objects.filter(pk=shop.shopper.pk).delete()
    assert EVENTS.flush_now() == 2
    assert [(row[0], row[2]) for row in stored(shop)] == [(None, shop.products["Leaf Rake"].pk)]


def test_events_buffered_before_an_erasure_are_not_brought_back_by_the_flush(
    shop: Shop, signed_in_client: Client, write_buffers
) -> None:
    # Erasure keeps the (anonymized) customer row for the orders: the flush must still drop what it held.
    signed_in_client.get(shop.product_url("Copper Kettle"))
    customer_erase(shop.shopper)
    assert EVENTS.flush_now() == 1
    assert stored(shop) == []


def test_the_flush_task_is_accepted_by_celery() -> None:
    # What the storefront queues when the buffer fills from empty (eager here, with nothing buffered).
    from retailsite.storefront.tasks import events_buffer_flush

    assert events_buffer_flush.apply_async(countdown=buffered_writes.FLUSH_DELAY_SECONDS).get() == "0 events flushed"
