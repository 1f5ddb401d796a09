"""Write-side operations of inventory: stock upserts, plan activation, purchase orders, shipments and receipts.

Every function runs in the current tenant's context and does its work in one transaction; stock counters are
changed with row locks (select_for_update) so concurrent receipts and approvals never lose an update.
The reorder plan itself is computed in `inventory.planning`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from retailsite.commerce.catalog_version import catalog_changed
from retailsite.commerce.models import Product
from retailsite.tenancy.context import require_tenant_id
from retailsite.tenancy.services import tenant_counter_next

from .models import (
    InboundShipment,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    ReorderPlan,
    ReorderPlanLine,
    StockItem,
    Supplier,
)
from .selectors import approved_plan_line_ids

# Fields of StockItem that an import or an API upsert may set (the supplier is given by name).
STOCK_FIELDS: tuple[str, ...] = (
    "on_hand",
    "on_order",
    "unit_cost",
    "unit_volume",
    "holding_cost_rate",
    "stockout_cost",
    "service_level",
    "lead_time_days",
    "lead_time_std_days",
    "min_order_qty",
    "pack_size",
    "order_cost",
)
_BATCH = 1000


class InventoryError(ValueError):
    """A request the stored state does not allow (e.g. approving a line of a plan that is not active)."""


def _user_or_none(user: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


# -- suppliers and stock -------------------------------------------------------------------------------------------


def suppliers_by_name(names: Iterable[str]) -> tuple[dict[str, Supplier], int]:
    """The store's suppliers with these names, creating missing ones with default terms; (by name, created)."""
    wanted = {name for name in names if name}
    found = {supplier.name: supplier for supplier in Supplier.objects.filter(name__in=wanted)}
    missing = sorted(wanted - set(found))
    if missing:
        Supplier.objects.bulk_create(
            [Supplier(tenant_id=require_tenant_id(), name=name) for name in missing], ignore_conflicts=True
        )
        found = {supplier.name: supplier for supplier in Supplier.objects.filter(name__in=wanted)}
    return found, len(missing)


@dataclass
class StockWriteResult:
    created: list[int] = field(default_factory=list)  # product pks
    updated: list[int] = field(default_factory=list)
    unchanged: int = 0
    suppliers_created: int = 0


def stock_items_write(rows: Sequence[Mapping[str, Any]], *, fields: Sequence[str]) -> StockWriteResult:
    """Create or update the stock of many products (the one write path of the importer and the API).

    Each row has `product_id` (the product's pk), optionally `supplier` (a name; "" or None = no supplier) and
    values for `fields` (a subset of STOCK_FIELDS plus "supplier"). Existing rows change only in `fields`; new rows
    get the model defaults for the rest. Rows whose values equal the stored ones are left alone (and counted
    unchanged), so writing the same rows twice changes nothing. A product repeated in `rows` counts once.
    """
    unknown = set(fields) - set(STOCK_FIELDS) - {"supplier"}
    if unknown:
        raise ValueError(f"not stock fields: {', '.join(sorted(unknown))}")
    tenant_id = require_tenant_id()
    result = StockWriteResult()
    with transaction.atomic():
        suppliers: dict[str, Supplier] = {}
        if "supplier" in fields:
            suppliers, result.suppliers_created = suppliers_by_name(row.get("supplier") or "" for row in rows)
        values_fields = [name for name in fields if name != "supplier"]
        compared = [*values_fields, *(["supplier_id"] if "supplier" in fields else [])]
        seen: set[int] = set()
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            existing = {
                item.product_id: item
                for item in StockItem.objects.filter(product_id__in=[row["product_id"] for row in batch])
            }
            new: list[StockItem] = []
            changed: list[StockItem] = []
            for row in batch:
                product_id = row["product_id"]
                if product_id in seen:
                    result.unchanged += 1
                    continue
                seen.add(product_id)
                wanted = {name: row[name] for name in values_fields}
                if "supplier" in fields:
                    name = row.get("supplier") or ""
                    wanted["supplier_id"] = suppliers[name].pk if name else None
                item = existing.get(product_id)
                if item is None:
                    new.append(StockItem(tenant_id=tenant_id, product_id=product_id, **wanted))
                    result.created.append(product_id)
                elif any(_differs(getattr(item, name), wanted[name]) for name in compared):
                    for name, value in wanted.items():
                        setattr(item, name, value)
                    changed.append(item)
                    result.updated.append(product_id)
                else:
                    result.unchanged += 1
            if new:
                StockItem.objects.bulk_create(new)
            if changed:
                now = timezone.now()
                for item in changed:
                    item.updated_at = now  # bulk_update does not apply auto_now
                StockItem.objects.bulk_update(changed, [*compared, "updated_at"])
        if result.created or result.updated:
            catalog_changed(tenant_id)  # what is in stock decides what is recommended: cached pages reload
    return result


def stock_changed(sender: type, instance: StockItem, **kwargs: object) -> None:
    """A stock row was saved or deleted one by one (signal receiver, see InventoryConfig.ready)."""
    catalog_changed(instance.tenant_id)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        if old is None or new is None:
            return old is not new
        return Decimal(old) != Decimal(new)
    return old != new


# -- plans ---------------------------------------------------------------------------------------------------------


def reorder_plan_activate(*, plan: ReorderPlan) -> ReorderPlan:
    """Make `plan` the active one, superseding the current one, in one transaction. Failed plans cannot serve."""
    if plan.status == ReorderPlan.Status.FAILED:
        raise InventoryError(f"Plan {plan.pk} failed and cannot be activated: {plan.error}")
    with transaction.atomic():
        ReorderPlan.objects.select_for_update().filter(status=ReorderPlan.Status.ACTIVE).exclude(pk=plan.pk).update(
            status=ReorderPlan.Status.SUPERSEDED
        )
        plan.status = ReorderPlan.Status.ACTIVE
        plan.activated_at = timezone.now()
        plan.save(update_fields=["status", "activated_at"])
    return plan


# -- purchase orders -----------------------------------------------------------------------------------------------

# Purchase orders are numbered per store (PO-000001, PO-000002, ...): a store's numbers say nothing about other
# stores' volumes, which numbers from the table's id (one sequence for every store) did.
PURCHASE_ORDER_COUNTER = "purchase_order"


def purchase_order_number(value: int) -> str:
    return f"PO-{value:06d}"


@dataclass
class ApprovalResult:
    purchase_orders: list[PurchaseOrder]
    skipped: list[str]  # why some lines were not approved, one message per line


def purchase_orders_create_from_plan_lines(
    *, lines: Iterable[ReorderPlanLine], user: AbstractBaseUser | AnonymousUser | None = None
) -> ApprovalResult:
    """Approve plan lines into purchase orders, one per supplier, and raise the products' stock on order.

    Only lines of the active plan with a positive order quantity are approved, each at most once; the others are
    skipped with a reason. All or nothing: the orders and the stock change are written in one transaction.
    """
    lines = list(lines)
    skipped: list[str] = []
    with transaction.atomic():
        already = approved_plan_line_ids(line.pk for line in lines)
        chosen: list[ReorderPlanLine] = []
        for line in lines:
            label = line.product.external_id
            if line.plan.status != ReorderPlan.Status.ACTIVE:
                skipped.append(f"{label}: its plan {line.plan_id} is {line.plan.status}, not active")
            elif line.pk in already:
                skipped.append(f"{label}: already approved")
            elif round(line.order_quantity) <= 0:
                skipped.append(f"{label}: nothing to order")
            else:
                chosen.append(line)
        by_supplier: dict[int | None, list[ReorderPlanLine]] = defaultdict(list)
        for line in chosen:
            by_supplier[line.supplier_id].append(line)
        orders: list[PurchaseOrder] = []
        for supplier_id, supplier_lines in sorted(by_supplier.items(), key=lambda item: (item[0] is None, item[0])):
            order = PurchaseOrder.objects.create(
                number=purchase_order_number(tenant_counter_next(PURCHASE_ORDER_COUNTER)),
                supplier_id=supplier_id,
                plan_id=supplier_lines[0].plan_id,
                created_by=_user_or_none(user),
            )
            PurchaseOrderLine.objects.bulk_create(
                [
                    PurchaseOrderLine(
                        tenant_id=order.tenant_id,
                        purchase_order=order,
                        product_id=line.product_id,
                        plan_line=line,
                        quantity=round(line.order_quantity),
                        unit_cost=Decimal(str(round(line.unit_cost, 2))),
                    )
                    for line in supplier_lines
                ]
            )
            orders.append(order)
        _add_on_order({line.product_id: round(line.order_quantity) for line in chosen})
    return ApprovalResult(purchase_orders=orders, skipped=skipped)


def _add_on_order(quantities: Mapping[int, int]) -> None:
    """Raise on_order by the given units per product pk (creating stock rows for products without one)."""
    if not quantities:
        return
    items = {
        item.product_id: item for item in StockItem.objects.select_for_update().filter(product_id__in=list(quantities))
    }
    missing = [pk for pk in quantities if pk not in items]
    if missing:
        StockItem.objects.bulk_create(
            [StockItem(tenant_id=require_tenant_id(), product_id=pk) for pk in missing], ignore_conflicts=True
        )
    for product_id, units in quantities.items():
        StockItem.objects.filter(product_id=product_id).update(
            on_order=F("on_order") + units, updated_at=timezone.now()
        )


def _refresh_purchase_order_status(order_id: int) -> None:
    order = PurchaseOrder.objects.select_for_update().get(pk=order_id)
    if order.status == PurchaseOrder.Status.CANCELLED:
        return
    lines = list(order.lines.all())
    if all(line.quantity_received >= line.quantity for line in lines):
        status = PurchaseOrder.Status.RECEIVED
    elif any(line.quantity_received > 0 for line in lines):
        status = PurchaseOrder.Status.PARTIALLY_RECEIVED
    else:
        status = PurchaseOrder.Status.OPEN
    if status != order.status:
        order.status = status
        order.save(update_fields=["status"])


# -- shipments and receipts ----------------------------------------------------------------------------------------


def shipment_create(
    *, product: Product, quantity: int, expected_arrival: dt.date, purchase_order_line: PurchaseOrderLine | None = None
) -> InboundShipment:
    """Record units shipped by the supplier: they move from on order to in transit (until received)."""
    if quantity <= 0:
        raise InventoryError("A shipment needs a positive quantity.")
    if purchase_order_line is not None and purchase_order_line.product_id != product.pk:
        raise InventoryError("The purchase order line is for another product.")
    with transaction.atomic():
        shipment = InboundShipment.objects.create(
            product=product,
            quantity=quantity,
            expected_arrival=expected_arrival,
            purchase_order_line=purchase_order_line,
        )
        StockItem.objects.filter(product=product).update(
            on_order=Greatest(F("on_order") - quantity, 0), updated_at=timezone.now()
        )
    return shipment


def receipt_record(
    *,
    product: Product,
    quantity: int,
    purchase_order_line: PurchaseOrderLine | None = None,
    shipment: InboundShipment | None = None,
    received_at: dt.datetime | None = None,
    note: str = "",
    user: AbstractBaseUser | AnonymousUser | None = None,
) -> Receipt:
    """Record units received: on hand goes up by `quantity`; what was expected goes down.

    Against a shipment in transit, the shipment is marked received (it leaves "in transit"); otherwise the units
    come off the product's stock on order (never below zero). Against a purchase order line, the line's received
    quantity and the order's status follow.
    """
    if quantity <= 0:
        raise InventoryError("A receipt needs a positive quantity.")
    for what, related in (("purchase order line", purchase_order_line), ("shipment", shipment)):
        if related is not None and related.product_id != product.pk:
            raise InventoryError(f"The {what} is for another product.")
    now = timezone.now()
    with transaction.atomic():
        item = StockItem.objects.select_for_update().filter(product=product).first()
        if item is None:
            item = StockItem.objects.create(product=product)
        if shipment is not None:
            shipment = InboundShipment.objects.select_for_update().get(pk=shipment.pk)
            if shipment.status != InboundShipment.Status.IN_TRANSIT:
                raise InventoryError(f"That shipment is already {shipment.get_status_display().lower()}.")
            shipment.status = InboundShipment.Status.RECEIVED
            shipment.received_at = received_at or now
            shipment.save(update_fields=["status", "received_at"])
            purchase_order_line = purchase_order_line or shipment.purchase_order_line
            on_order = item.on_order
        else:
            on_order = max(item.on_order - quantity, 0)
        StockItem.objects.filter(pk=item.pk).update(on_hand=F("on_hand") + quantity, on_order=on_order, updated_at=now)
        receipt = Receipt.objects.create(
            product=product,
            purchase_order_line=purchase_order_line,
            shipment=shipment,
            quantity=quantity,
            received_at=received_at or now,
            note=note,
            created_by=_user_or_none(user),
        )
        if purchase_order_line is not None:
            PurchaseOrderLine.objects.filter(pk=purchase_order_line.pk).update(
                quantity_received=F("quantity_received") + quantity
            )
            _refresh_purchase_order_status(purchase_order_line.purchase_order_id)
    return receipt


def purchase_order_receive_outstanding(
    *, purchase_order: PurchaseOrder, user: AbstractBaseUser | AnonymousUser | None = None
) -> list[Receipt]:
    """Receive every line's outstanding quantity in full (the usual case: the delivery matches the order)."""
    receipts = []
    with transaction.atomic():
        for line in purchase_order.lines.select_related("product").select_for_update(of=("self",)):
            if line.outstanding > 0:
                receipts.append(
                    receipt_record(
                        product=line.product,
                        quantity=line.outstanding,
                        purchase_order_line=line,
                        user=user,
                        note=f"received in full against {purchase_order}",
                    )
                )
    return receipts
