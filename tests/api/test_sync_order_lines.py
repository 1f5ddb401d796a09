"""An order's lines changing is a change of the order in the sync feed, whether the lines were written in the order's
own transaction (an import: the order is listed once, with all its lines) or in a later one (listed again, later)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from retailsite.commerce.importers.service import import_store_data
from retailsite.commerce.models import Order, OrderLine, Product
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import issue_key, key_client, sync_drain
from tests.factories import CustomerFactory, OrderFactory, ProductFactory, TenantFactory

ORDERS_HEADER = "order_id,customer_id,product_id,quantity,ordered_at,unit_price\n"


def _lines(order: dict) -> list[tuple[str, int]]:
    return sorted((line["product_id"], line["quantity"]) for line in order["lines"])


def _order_row_updates() -> int:
    """How many order rows PostgreSQL has updated in this database so far (its table statistics)."""
    with connection.cursor() as cursor:  # a backend publishes its statistics when it goes idle: make it now
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'commerce_order'")
        return int(cursor.fetchone()[0])


# The feed lists only what committed transactions wrote: these tests commit (transaction=True).
@pytest.mark.django_db(transaction=True)
def test_imported_orders_are_listed_once_with_their_lines_and_again_when_a_later_import_adds_one(tmp_path) -> None:
    tenant = TenantFactory(slug="alpha")
    api = key_client(issue_key(tenant))
    (tmp_path / "customers.csv").write_text("customer_id\nC1\nC2\n")
    (tmp_path / "products.csv").write_text("product_id,name,price\nP1,Kettle,10.00\nP2,Mug,4.00\nP3,Tray,7.00\n")
    import_store_data(
        tenant=tenant, files={"customers": tmp_path / "customers.csv", "products": tmp_path / "products.csv"}
    )
    # O1 has a line with a price and one without: the importer writes them in two statements.
    orders = tmp_path / "orders.csv"
    orders.write_text(
        ORDERS_HEADER + "O1,C1,P1,2,2026-03-01,9.50\nO1,C1,P2,1,2026-03-01,\nO2,C2,P2,3,2026-03-02,4.00\n"
    )
    updates_before = _order_row_updates()
    import_store_data(tenant=tenant, files={"orders": orders})
    # The import inserted its orders and wrote their lines without writing any order a second time.
    assert _order_row_updates() == updates_before

    listed, cursor = sync_drain(api, "/api/v1/orders/?updated_after=2000-01-01T00:00:00Z&limit=1")
    assert sorted((o["order_id"], _lines(o)) for o in listed) == [
        ("O1", [("P1", 2), ("P2", 1)]),
        ("O2", [("P2", 3)]),
    ]
    with tenant_context(tenant):
        stamps = dict(Order.objects.values_list("external_id", "change_seq"))

    # Another import (another transaction) adds a line to O1 and leaves O2 as it was.
    orders.write_text(
        ORDERS_HEADER
        + "O1,C1,P1,2,2026-03-01,9.50\nO1,C1,P2,1,2026-03-01,\nO1,C1,P3,5,2026-03-01,7.00\n"
        + "O2,C2,P2,3,2026-03-02,4.00\n"
    )
    updates_before = _order_row_updates()
    import_store_data(tenant=tenant, files={"orders": orders})
    assert _order_row_updates() == updates_before + 1  # O1 restamped, once
    changed, cursor = sync_drain(api, f"/api/v1/orders/?cursor={cursor}")
    assert [(o["order_id"], _lines(o)) for o in changed] == [("O1", [("P1", 2), ("P2", 1), ("P3", 5)])]
    with tenant_context(tenant):
        assert Order.objects.get(external_id="O1").change_seq > stamps["O1"]
        assert Order.objects.get(external_id="O2").change_seq == stamps["O2"]
    assert sync_drain(api, f"/api/v1/orders/?cursor={cursor}")[0] == []


@pytest.mark.django_db(transaction=True)
def test_lines_written_after_other_changes_of_a_transaction_still_restate_an_older_order() -> None:
    tenant = TenantFactory(slug="alpha")
    api = key_client(issue_key(tenant))
    with tenant_context(tenant):
        kettle = ProductFactory(tenant=tenant, external_id="P1", price=Decimal("10.00"))
        mug = ProductFactory(tenant=tenant, external_id="P2", price=Decimal("4.00"))
        customer = CustomerFactory(tenant=tenant, external_id="C1")
        with transaction.atomic():  # a new order and its lines, in several statements of one transaction
            new = OrderFactory(tenant=tenant, external_id="O1", customer=customer)
            OrderLine.objects.create(order=new, product=kettle, quantity=1, unit_price=Decimal("10.00"))
            OrderLine.objects.create(order=new, product=mug, quantity=2, unit_price=Decimal("4.00"))
    listed, cursor = sync_drain(api, "/api/v1/orders/?updated_after=2000-01-01T00:00:00Z")
    assert [(o["order_id"], _lines(o)) for o in listed] == [("O1", [("P1", 1), ("P2", 2)])]

    # A later transaction stamps other rows first (a product, another order), then changes O1's lines: O1's stamp
    # is older than anything this transaction stamped, so O1 is listed again.
    with tenant_context(tenant), transaction.atomic():
        Product.objects.filter(pk=kettle.pk).update(price=Decimal("11.00"))
        OrderFactory(tenant=tenant, external_id="O2", customer=customer)
        OrderLine.objects.filter(order=new, product=mug).delete()
        OrderLine.objects.create(
            order=new, product=ProductFactory(tenant=tenant, external_id="P3"), quantity=4, unit_price=Decimal("7.00")
        )
    changed, cursor = sync_drain(api, f"/api/v1/orders/?cursor={cursor}")
    assert sorted((o["order_id"], _lines(o)) for o in changed) == [("O1", [("P1", 1), ("P3", 4)]), ("O2", [])]
    assert sync_drain(api, f"/api/v1/orders/?cursor={cursor}")[0] == []
