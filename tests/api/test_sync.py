"""Incremental sync: `updated_at` kept by every write path, and the cursor feed returning every change and every
deletion once, in the order they happened (an erasure as a deletion without personal data)."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from retailsite.api.sync import encode_cursor
from retailsite.commerce.importers.service import import_store_data
from retailsite.commerce.models import Customer, OrderLine, Product, SyncDeletion
from retailsite.privacy.services import customer_erasure_perform, personal_data_purge_expired
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import issue_key, key_client, sync_drain
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StockItemFactory,
    TenantFactory,
)


# The feed lists only what committed transactions wrote: these tests commit (transaction=True).
@pytest.mark.django_db(transaction=True)
def test_updated_at_follows_every_write_path_and_unchanged_writes_are_not_changes(tmp_path) -> None:
    tenant = TenantFactory(slug="alpha")
    api = key_client(issue_key(tenant))
    (tmp_path / "products.csv").write_text("product_id,name,price\nP1,Kettle,10.00\nP2,Mug,4.00\n")
    import_store_data(tenant=tenant, files={"products": tmp_path / "products.csv"})  # the importer's COPY path
    rows, cursor = sync_drain(api, "/api/v1/products/?updated_after=2000-01-01T00:00:00Z&limit=1")
    assert sorted(r["product_id"] for r in rows) == ["P1", "P2"]
    import_store_data(tenant=tenant, files={"products": tmp_path / "products.csv"})  # the same again: no change
    assert sync_drain(api, f"/api/v1/products/?cursor={cursor}")[0] == []
    (tmp_path / "products.csv").write_text("product_id,name,price\nP1,Kettle,12.00\nP2,Mug,4.00\n")
    import_store_data(tenant=tenant, files={"products": tmp_path / "products.csv"})
    changed, cursor = sync_drain(api, f"/api/v1/products/?cursor={cursor}")
    assert [(r["product_id"], r["price"]) for r in changed] == [("P1", "12.00")]
    api.patch("/api/v1/products/P2/", {"price": "5.00"}, format="json")  # the API's write path
    changed, cursor = sync_drain(api, f"/api/v1/products/?cursor={cursor}")
    assert [(r["product_id"], r["price"]) for r in changed] == [("P2", "5.00")]
    # An order's lines changing is a change of the order.
    with tenant_context(tenant):
        order = OrderFactory(tenant=tenant, external_id="O1", customer=CustomerFactory(tenant=tenant))
    order_rows, order_cursor = sync_drain(api, "/api/v1/orders/?updated_after=2000-01-01T00:00:00Z")
    assert [r["order_id"] for r in order_rows] == ["O1"]
    with tenant_context(tenant):
        OrderLine.objects.create(order=order, product=Product.objects.get(external_id="P1"), quantity=1, unit_price=1)
    again, _ = sync_drain(api, f"/api/v1/orders/?cursor={order_cursor}")
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
        rows, cursor = sync_drain(api, url)
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


def _state(entries: list[dict], id_field: str, state: dict[str, dict] | None = None) -> dict[str, dict]:
    """A partner's copy: the feed's entries applied in order (a deletion removes the id)."""
    state = dict(state or {})
    for entry in entries:
        if entry.get("deleted"):
            state.pop(entry[id_field], None)
        else:
            state[entry[id_field]] = entry
    return state


@pytest.mark.django_db(transaction=True)
def test_deletions_are_in_the_feed_in_the_order_they_happened() -> None:
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        kettle = ProductFactory(tenant=tenant, external_id="KETTLE")
        ProductFactory(tenant=tenant, external_id="MUG")
        StockItemFactory(tenant=tenant, product=kettle, on_hand=4)
    api = key_client(issue_key(tenant))
    products, cursor = sync_drain(api, "/api/v1/products/?updated_after=2000-01-01T00:00:00Z")
    stock, stock_cursor = sync_drain(api, "/api/v1/inventory/stock/?updated_after=2000-01-01T00:00:00Z")
    assert sorted(_state(products, "product_id")) == ["KETTLE", "MUG"] and list(_state(stock, "product_id")) == [
        "KETTLE"
    ]

    assert api.delete("/api/v1/products/KETTLE/").status_code == 204  # its stock item goes with it
    assert (
        api.post("/api/v1/products/", {"product_id": "KETTLE", "name": "Kettle II"}, format="json").status_code == 201
    )
    changed, cursor = sync_drain(api, f"/api/v1/products/?cursor={cursor}")
    assert [(e["product_id"], e.get("deleted", False)) for e in changed] == [("KETTLE", True), ("KETTLE", False)]
    assert set(changed[0]) == {"product_id", "deleted", "deleted_at"}
    assert sorted(_state(changed, "product_id", _state(products, "product_id"))) == ["KETTLE", "MUG"]
    stock_changes, _ = sync_drain(api, f"/api/v1/inventory/stock/?cursor={stock_cursor}")
    assert [(e["product_id"], e.get("deleted")) for e in stock_changes] == [("KETTLE", True)]
    assert sync_drain(api, f"/api/v1/products/?cursor={cursor}")[0] == []  # listed once

    # A sync started later from a time lists the deletions after that time only.
    assert sync_drain(api, "/api/v1/products/?updated_after=2000-01-01T00:00:00Z&category=Nothing")[0] == [changed[0]]
    later = (timezone.now() + dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    assert sync_drain(api, f"/api/v1/products/?updated_after={later}")[0] == []


@pytest.mark.django_db(transaction=True)
def test_an_erasure_is_a_deletion_without_personal_data_and_restates_the_customers_orders() -> None:
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        ines = CustomerFactory(tenant=tenant, external_id="C-INES", email="ines@example.org", name="Ines Quarrat")
        OrderLineFactory(tenant=tenant, order=OrderFactory(tenant=tenant, external_id="O-1", customer=ines))
    api = key_client(issue_key(tenant))
    _, customers_cursor = sync_drain(api, "/api/v1/customers/?updated_after=2000-01-01T00:00:00Z")
    _, orders_cursor = sync_drain(api, "/api/v1/orders/?updated_after=2000-01-01T00:00:00Z")
    with tenant_context(tenant):
        customer_erasure_perform(customer=Customer.objects.get(pk=ines.pk))
        pseudonym = Customer.objects.get(pk=ines.pk).external_id

    response = api.get(f"/api/v1/customers/?cursor={customers_cursor}")
    entries = response.json()["results"]
    deleted = [e for e in entries if e.get("deleted")]
    assert [set(e) for e in deleted] == [{"customer_id", "deleted", "deleted_at"}]
    assert deleted[0]["customer_id"] == "C-INES"
    for personal in (b"ines@example.org", b"Ines Quarrat"):
        assert personal not in response.content
    # The anonymized record stays (its orders point at it) under its pseudonym; the partner's copy drops C-INES.
    assert sorted(_state(entries, "customer_id", {"C-INES": {}})) == [pseudonym]
    orders, _ = sync_drain(api, f"/api/v1/orders/?cursor={orders_cursor}")
    assert [(o["order_id"], o["customer_id"]) for o in orders] == [("O-1", pseudonym)]


@pytest.mark.django_db(transaction=True)
def test_sync_returns_every_change_and_deletion_exactly_once_while_writes_and_deletes_continue() -> None:
    tenant = TenantFactory(slug="alpha")
    with tenant_context(tenant):
        for index in range(30):
            ProductFactory(tenant=tenant, external_id=f"P{index:02d}", price=Decimal(1))
    api = key_client(issue_key(tenant))
    entries, cursor = sync_drain(api, "/api/v1/products/?updated_after=2000-01-01T00:00:00Z&limit=7")
    deleted_by_writers: list[str] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        with tenant_context(tenant):
            for step in range(40):
                deleted: list[str] = []
                try:
                    with transaction.atomic():
                        for part in range(rng.randint(1, 3)):
                            # Every price is written once, so a listed (product, price) names one change.
                            price = Decimal(10_000 + worker * 1_000 + step * 10 + part)
                            roll = rng.random()
                            if roll < 0.2:  # a new product (ids are never reused: each is deleted at most once)
                                ProductFactory(tenant=tenant, external_id=f"N{worker}-{step}-{part}", price=price)
                                continue
                            target = Product.objects.order_by("?").values_list("pk", "external_id").first()
                            if target is None:
                                continue
                            if roll > 0.8:
                                # Counted only if this transaction deleted it (another may have, meanwhile).
                                if Product.objects.filter(pk=target[0]).delete()[1].get("commerce.Product"):
                                    deleted.append(target[1])
                            else:
                                Product.objects.filter(pk=target[0]).update(price=price)
                except OperationalError:  # a deadlock between two writers: that transaction wrote nothing
                    continue
                with lock:
                    deleted_by_writers.extend(deleted)
        connection.close()

    writers = [threading.Thread(target=writer, args=(worker,)) for worker in range(3)]
    for thread in writers:
        thread.start()
    while any(thread.is_alive() for thread in writers):
        page, cursor = sync_drain(api, f"/api/v1/products/?cursor={cursor}&limit=7")
        entries += page
    for thread in writers:
        thread.join()
    page, cursor = sync_drain(api, f"/api/v1/products/?cursor={cursor}&limit=7")
    entries += page

    assert deleted_by_writers, "the writers deleted nothing: the test proves nothing about deletions"
    listed = [json.dumps(e, sort_keys=True) for e in entries]
    assert len(listed) == len(set(listed)), "an entry was listed twice"
    assert sorted(e["product_id"] for e in entries if e.get("deleted")) == sorted(deleted_by_writers)
    changes = [(e["product_id"], e["price"]) for e in entries if not e.get("deleted")]
    assert len(changes) == len(set(changes)), "a change was listed twice"
    with tenant_context(tenant):
        final = {p.external_id: f"{p.price:.2f}" for p in Product.objects.all()}
    assert {pid: row["price"] for pid, row in _state(entries, "product_id").items()} == final


@pytest.mark.django_db
def test_a_cursor_older_than_the_kept_deletions_must_resync_and_old_entries_are_purged() -> None:
    tenant = TenantFactory(slug="alpha")
    tenant.settings = {"sync_deletion_retention_days": 30}
    tenant.save()
    api = key_client(issue_key(tenant))
    now = timezone.now()
    old = encode_cursor(0, 0, now - dt.timedelta(days=30))
    response = api.get(f"/api/v1/products/?cursor={old}")
    assert response.status_code == 410 and response.json()["error"]["code"] == "cursor_expired"
    assert api.get(f"/api/v1/products/?cursor={encode_cursor(0, 0, now - dt.timedelta(days=20))}").status_code == 200
    assert api.get("/api/v1/products/?updated_after=2000-01-01T00:00:00Z").status_code == 200  # a new start

    with tenant_context(tenant):
        for age, external_id in ((31, "GONE-LONG-AGO"), (29, "GONE-LATELY")):
            ProductFactory(tenant=tenant, external_id=external_id).delete()
            SyncDeletion.objects.filter(external_id=external_id).update(deleted_at=now - dt.timedelta(days=age))
    assert personal_data_purge_expired(tenant=tenant)["sync deletions"] == 1
    with tenant_context(tenant):
        assert list(SyncDeletion.objects.values_list("external_id", flat=True)) == ["GONE-LATELY"]
