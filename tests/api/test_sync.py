"""Incremental sync: `updated_at` kept by every write path, and the cursor feed returning every change once."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from retailsite.commerce.importers.service import import_store_data
from retailsite.commerce.models import OrderLine, Product
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import issue_key, key_client
from tests.factories import CustomerFactory, OrderFactory, ProductFactory, TenantFactory


def _drain(client, url: str) -> tuple[list[dict], str | None]:  # type: ignore[no-untyped-def]
    """Follow `next` until the feed has nothing more; the rows and the cursor to resume from."""
    rows: list[dict] = []
    cursor = None
    while url:
        body = client.get(url).json()
        rows += body["results"]
        cursor = body["cursor"] or cursor
        url = body["next"]
    return rows, cursor


# The feed lists only what committed transactions wrote: these tests commit (transaction=True).
@pytest.mark.django_db(transaction=True)
def test_updated_at_follows_every_write_path_and_unchanged_writes_are_not_changes(tmp_path) -> None:
    tenant = TenantFactory(slug="alpha")
    api = key_client(issue_key(tenant))
    (tmp_path / "products.csv").write_text("product_id,name,price\nP1,Kettle,10.00\nP2,Mug,4.00\n")
    import_store_data(tenant=tenant, files={"products": tmp_path / "products.csv"})  # the importer's COPY path
    rows, cursor = _drain(api, "/api/v1/products/?updated_after=2000-01-01T00:00:00Z&limit=1")
    assert sorted(r["product_id"] for r in rows) == ["P1", "P2"]
    import_store_data(tenant=tenant, files={"products": tmp_path / "products.csv"})  # the same again: no change
    assert _drain(api, f"/api/v1/products/?cursor={cursor}")[0] == []
    (tmp_path / "products.csv").write_text("product_id,name,price\nP1,Kettle,12.00\nP2,Mug,4.00\n")
    import_store_data(tenant=tenant, files={"products": tmp_path / "products.csv"})
    changed, cursor = _drain(api, f"/api/v1/products/?cursor={cursor}")
    assert [(r["product_id"], r["price"]) for r in changed] == [("P1", "12.00")]
    api.patch("/api/v1/products/P2/", {"price": "5.00"}, format="json")  # the API's write path
    changed, cursor = _drain(api, f"/api/v1/products/?cursor={cursor}")
    assert [(r["product_id"], r["price"]) for r in changed] == [("P2", "5.00")]
    # An order's lines changing is a change of the order.
    with tenant_context(tenant):
        order = OrderFactory(tenant=tenant, external_id="O1", customer=CustomerFactory(tenant=tenant))
    order_rows, order_cursor = _drain(api, "/api/v1/orders/?updated_after=2000-01-01T00:00:00Z")
    assert [r["order_id"] for r in order_rows] == ["O1"]
    with tenant_context(tenant):
        OrderLine.objects.create(order=order, product=Product.objects.get(external_id="P1"), quantity=1, unit_price=1)
    again, _ = _drain(api, f"/api/v1/orders/?cursor={order_cursor}")
    assert [(r["order_id"], len(r["lines"])) for r in again] == [("O1", 1)]


@pytest.mark.django_db
def test_bad_sync_parameters_get_a_clear_400() -> None:
    api = key_client(issue_key(TenantFactory(slug="alpha")))
    for query, field in (("updated_after=yesterday", "updated_after"), ("cursor=not-a-cursor!", "cursor")):
        response = api.get(f"/api/v1/customers/?{query}")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_sync_returns_every_change_exactly_once_while_writes_continue() -> None:
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        products = [ProductFactory(tenant=tenant, external_id=f"P{i:02d}", price=Decimal(1)) for i in range(30)]
    api = key_client(issue_key(tenant))
    seen: list[tuple[str, str]] = []  # (product, price) as listed; every write sets a price never used before

    def sync(url: str) -> str | None:
        rows, cursor = _drain(api, url)
        seen.extend((r["product_id"], r["price"]) for r in rows)
        return cursor

    cursor = sync("/api/v1/products/?updated_after=2000-01-01T00:00:00Z&limit=7")
    assert len(seen) == 30

    # 1. A transaction writes first but commits last, while others commit: a reader resuming meanwhile must not
    #    move past the earlier write (a plain updated_at cursor would skip it).
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with tenant_context(tenant), transaction.atomic():
            Product.objects.filter(pk=products[0].pk).update(price=Decimal("1000.00"))
            written.set()
            release.wait(30)
        connection.close()

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert written.wait(30)
    with tenant_context(tenant):
        for index in range(1, 6):
            with transaction.atomic():
                Product.objects.filter(pk=products[index].pk).update(price=Decimal(2000 + index))
    before = len(seen)
    # The page waits for the open transaction (briefly, then 503 with Retry-After) instead of skipping it.
    busy = api.get(f"/api/v1/products/?cursor={cursor}&limit=7")
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "unavailable"
    assert len(seen) == before
    release.set()
    slow.join()
    cursor = sync(f"/api/v1/products/?cursor={cursor}&limit=7")
    assert sorted(seen[before:]) == sorted(
        [("P00", "1000.00")] + [(f"P{i:02d}", f"{2000 + i}.00") for i in range(1, 6)]
    )

    # 2. Writers keep committing (some transactions overlapping) while the reader follows the feed.
    done = threading.Event()

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        with tenant_context(tenant):
            for step in range(40):
                with transaction.atomic():
                    for part in range(rng.randint(1, 3)):
                        Product.objects.filter(pk=rng.choice(products).pk).update(
                            price=Decimal(10_000 + worker * 1_000 + step * 10 + part)
                        )
        connection.close()

    writers = [threading.Thread(target=writer, args=(worker,)) for worker in range(3)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        cursor = sync(f"/api/v1/products/?cursor={cursor}&limit=7")
    for thread in writers:
        thread.join()
    done.set()
    sync(f"/api/v1/products/?cursor={cursor}&limit=7")

    assert len(seen) == len(set(seen)), "a change was listed twice"
    with tenant_context(tenant):
        final = {p.external_id: f"{p.price:.2f}" for p in Product.objects.all()}
    last_seen = {}
    for product_id, price in seen:
        last_seen[product_id] = price
    assert last_seen == final  # every product's latest state reached the reader
