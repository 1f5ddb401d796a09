"""Staff approve plan lines into purchase orders (admin action, CHANGE capability) and record receipts and
shipments, which move units between on order, in transit and on hand."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from inventory.models import (
    InboundShipment,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReorderPlan,
    ReorderPlanLine,
    StockItem,
)
from inventory.planning import reorder_plan_create
from inventory.selectors import in_transit_by_product
from inventory.services import purchase_orders_create_from_plan_lines, receipt_record, shipment_create
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from retailsite.tenancy.services import tenant_counter_next
from tests.builders.inventory import forecast_run, make_store, stocked_product
from tests.factories import MembershipFactory, TenantFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/inventory/reorderplanline/"


@pytest.fixture
def planned_store():
    """A store whose active plan orders two products from two suppliers and nothing of a third."""
    store = make_store()
    kettle, _ = stocked_product(store, "KETTLE", supplier="Acme", on_hand=0, on_order=4, lead_time_days=7)
    pan, _ = stocked_product(store, "PAN", supplier="Brill", on_hand=1, lead_time_days=7)
    idle, _ = stocked_product(store, "IDLE", supplier="Acme", on_hand=500, lead_time_days=7)
    forecast_run(store, {kettle: (8, 10, 13), pan: (3, 4, 6), idle: (1, 2, 3)})
    with tenant_context(store):
        plan = reorder_plan_create(tenant=store)
    return store, plan


def lines_by_product(store, plan: ReorderPlan) -> dict[str, ReorderPlanLine]:
    with tenant_context(store):
        return {
            line.product.external_id: line
            for line in ReorderPlanLine.objects.filter(plan=plan).select_related("product", "plan")
        }


def on_order(store, external_id: str) -> int:
    with tenant_context(store):
        return StockItem.objects.get(product__external_id=external_id).on_order


def test_a_manager_approves_lines_into_one_purchase_order_per_supplier(client, planned_store) -> None:
    store, plan = planned_store
    lines = lines_by_product(store, plan)
    kettle, pan, idle = lines["KETTLE"], lines["PAN"], lines["IDLE"]
    assert kettle.order_quantity > 0 and pan.order_quantity > 0 and idle.order_quantity == 0
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)

    response = client.post(
        CHANGELIST, {"action": "approve", "_selected_action": [kettle.pk, pan.pk, idle.pk]}, follow=True
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Created purchase order(s) PO-" in page and "IDLE: nothing to order" in page
    with tenant_context(store):
        orders = {order.supplier.name: order for order in PurchaseOrder.objects.select_related("supplier")}
        assert set(orders) == {"Acme", "Brill"}
        acme_line = PurchaseOrderLine.objects.get(purchase_order=orders["Acme"])
        assert (acme_line.product.external_id, acme_line.quantity) == ("KETTLE", round(kettle.order_quantity))
        assert acme_line.plan_line_id == kettle.pk
        assert orders["Acme"].created_by.memberships.get().role == Role.MANAGER
    assert on_order(store, "KETTLE") == 4 + round(kettle.order_quantity)
    assert on_order(store, "PAN") == round(pan.order_quantity)


def test_a_line_is_approved_once_and_only_from_the_active_plan(planned_store) -> None:
    store, plan = planned_store
    with tenant_context(store):
        kettle = lines_by_product(store, plan)["KETTLE"]
        first = purchase_orders_create_from_plan_lines(lines=[kettle])
        again = purchase_orders_create_from_plan_lines(lines=[kettle])
        assert len(first.purchase_orders) == 1 and again.purchase_orders == []
        assert again.skipped == ["KETTLE: already approved"]

        newer = reorder_plan_create(tenant=store)
        pan_of_old_plan = lines_by_product(store, plan)["PAN"]
        stale = purchase_orders_create_from_plan_lines(lines=[pan_of_old_plan])
        assert stale.purchase_orders == []
        assert stale.skipped == [f"PAN: its plan {plan.pk} is superseded, not active"]
        assert newer.status == ReorderPlan.Status.ACTIVE
        assert PurchaseOrder.objects.count() == 1


def test_a_viewer_cannot_approve(client, planned_store) -> None:
    store, plan = planned_store
    kettle = lines_by_product(store, plan)["KETTLE"]
    client.force_login(MembershipFactory(tenant=store, role=Role.ANALYST).user)
    listing = client.get(CHANGELIST)
    assert listing.status_code == 200 and "KETTLE" in listing.content.decode()
    client.post(CHANGELIST, {"action": "approve", "_selected_action": [kettle.pk]})
    with tenant_context(store):
        assert not PurchaseOrder.objects.exists()
    assert on_order(store, "KETTLE") == 4


def test_recording_a_receipt_against_a_purchase_order_updates_stock(planned_store) -> None:
    store, plan = planned_store
    with tenant_context(store):
        kettle = lines_by_product(store, plan)["KETTLE"]
        order = purchase_orders_create_from_plan_lines(lines=[kettle]).purchase_orders[0]
        line = order.lines.get()
        ordered = line.quantity
        assert StockItem.objects.get(product=line.product).on_order == 4 + ordered

        receipt_record(product=line.product, quantity=ordered - 2, purchase_order_line=line)
        item = StockItem.objects.get(product=line.product)
        assert (item.on_hand, item.on_order) == (ordered - 2, 4 + 2)
        order.refresh_from_db()
        assert order.status == PurchaseOrder.Status.PARTIALLY_RECEIVED

        receipt_record(product=line.product, quantity=2, purchase_order_line=line)
        item.refresh_from_db()
        order.refresh_from_db()
        assert (item.on_hand, item.on_order, order.status) == (ordered, 4, PurchaseOrder.Status.RECEIVED)
        assert PurchaseOrderLine.objects.get(pk=line.pk).quantity_received == ordered


def test_a_shipment_is_in_transit_until_received(planned_store) -> None:
    store, _ = planned_store
    with tenant_context(store):
        item = StockItem.objects.select_related("product").get(product__external_id="KETTLE")
        shipment = shipment_create(product=item.product, quantity=3, expected_arrival=dt.date(2030, 1, 6))
        item.refresh_from_db()
        assert item.on_order == 1 and in_transit_by_product([item.product_id]) == {item.product_id: 3}

        receipt_record(product=item.product, quantity=3, shipment=shipment)
        item.refresh_from_db()
        shipment.refresh_from_db()
        assert (item.on_hand, item.on_order, shipment.status) == (3, 1, InboundShipment.Status.RECEIVED)
        assert in_transit_by_product([item.product_id]) == {}


def test_a_receipt_recorded_in_the_admin_updates_stock_on_hand(client, planned_store) -> None:
    store, _ = planned_store
    with tenant_context(store):
        item = StockItem.objects.get(product__external_id="PAN")
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)

    response = client.post(
        "/admin/inventory/receipt/add/",
        {
            "product": item.product_id,
            "quantity": 6,
            "received_at_0": "2025-01-02",
            "received_at_1": "10:00:00",
            "note": "delivery",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(store):
        item.refresh_from_db()
        assert item.on_hand == 1 + 6
        assert Receipt.objects.get().quantity == 6


def test_the_admin_receives_a_whole_purchase_order(client, planned_store) -> None:
    store, plan = planned_store
    with tenant_context(store):
        kettle = lines_by_product(store, plan)["KETTLE"]
        order = purchase_orders_create_from_plan_lines(lines=[kettle]).purchase_orders[0]
    client.force_login(MembershipFactory(tenant=store, role=Role.OWNER).user)
    client.post("/admin/inventory/purchaseorder/", {"action": "receive_outstanding", "_selected_action": [order.pk]})
    with tenant_context(store):
        item = StockItem.objects.get(product__external_id="KETTLE")
        order.refresh_from_db()
        assert (item.on_hand, item.on_order) == (round(kettle.order_quantity), 4)
        assert order.status == PurchaseOrder.Status.RECEIVED


def test_purchase_orders_are_numbered_per_store(client, planned_store) -> None:
    """F8: a store's numbers count its own orders only (numbers from the table's id counted every store's)."""
    store, plan = planned_store
    other = make_store("beta")
    mug, _ = stocked_product(other, "MUG", supplier="Acme", on_hand=0, lead_time_days=7)
    forecast_run(other, {mug: (8, 10, 13)})
    with tenant_context(other):
        other_plan = reorder_plan_create(tenant=other)
    lines = lines_by_product(store, plan)
    with tenant_context(store):
        first = purchase_orders_create_from_plan_lines(lines=[lines["KETTLE"]]).purchase_orders
    with tenant_context(other):
        elsewhere = purchase_orders_create_from_plan_lines(
            lines=list(lines_by_product(other, other_plan).values())
        ).purchase_orders
    with tenant_context(store):
        second = purchase_orders_create_from_plan_lines(lines=[lines["PAN"]]).purchase_orders
    assert [order.number for order in first + second] == ["PO-000001", "PO-000002"]
    assert [order.number for order in elsewhere] == ["PO-000001"]

    # Staff see the number, and the list links to each order by it rather than by its id.
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)
    listing = client.get("/admin/inventory/purchaseorder/").content.decode()
    assert "/admin/inventory/purchaseorder/PO-000002/change/" in listing
    assert f"/admin/inventory/purchaseorder/{second[0].pk}/change/" not in listing
    detail = client.get("/admin/inventory/purchaseorder/PO-000002/change/")
    assert detail.status_code == 200 and "Brill" in detail.content.decode()  # this store's PO-000002 (the pan)
    with tenant_context(store):
        receipt_record(product=lines["PAN"].product, quantity=1, purchase_order_line=second[0].lines.get())
    assert "PO-000002: " in client.get("/admin/inventory/receipt/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_share_a_number() -> None:
    store = TenantFactory(slug="gamma")
    numbers: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def allocate() -> None:
        try:
            start.wait(10)
            with tenant_context(store):
                for _ in range(10):
                    with transaction.atomic():
                        numbers.append(tenant_counter_next("purchase_order"))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=allocate) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 41))


def test_a_rolled_back_allocation_gives_its_number_back(planned_store) -> None:
    store, _ = planned_store
    with tenant_context(store):
        assert tenant_counter_next("purchase_order") == 1
        try:
            with transaction.atomic():
                assert tenant_counter_next("purchase_order") == 2
                raise RuntimeError("the approval failed")
        except RuntimeError:
            pass
        assert tenant_counter_next("purchase_order") == 2
