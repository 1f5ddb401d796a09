"""Read-side queries of inventory: stock with its resolved supplier terms, the active plan, its lines, projections.

Everything runs in the current tenant's context (the tenant-scoped managers fail closed without one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from forecasting.models import ForecastRun, RunStatus

from .models import InboundShipment, PurchaseOrderLine, ReorderPlan, ReorderPlanLine, StockItem, Supplier

# Serving leaves a product out while this holds (registered in InventoryConfig.ready with
# retailsite.commerce.live_state): the store tracks its stock (a stock row exists) and none is on hand, on order
# or in transit. A product without a stock row is not tracked and stays available. SQL over the product row
# `{p}`, so the check rides in the same statement as the rest of a list (one index look-up per product).
OUT_OF_STOCK_SQL = (
    "EXISTS (SELECT 1 FROM inventory_stockitem s WHERE s.tenant_id = {p}.tenant_id AND s.product_id = {p}.id"
    " AND s.on_hand = 0 AND s.on_order = 0)"
    " AND NOT EXISTS (SELECT 1 FROM inventory_inboundshipment t WHERE t.tenant_id = {p}.tenant_id"
    " AND t.product_id = {p}.id AND t.status = 'in_transit')"
)

# Terms of a product with neither its own nor a supplier's.
DEFAULT_LEAD_TIME_DAYS = 7.0
DEFAULT_LEAD_TIME_STD_DAYS = 0.0
DEFAULT_MIN_ORDER_QTY = 0
DEFAULT_PACK_SIZE = 1
DEFAULT_ORDER_COST = 0.0


@dataclass(frozen=True)
class SupplyTerms:
    """The terms a product is actually ordered on: its own override, else its supplier's, else the defaults."""

    lead_time_days: float
    lead_time_std_days: float
    min_order_qty: int
    pack_size: int
    order_cost: float


def stock_item_terms(item: StockItem, supplier: Supplier | None = None) -> SupplyTerms:
    """Resolve a stock item's supplier terms (pass `supplier` to avoid a query when it is already loaded)."""
    supplier = supplier if supplier is not None else (item.supplier if item.supplier_id else None)

    def pick(own: float | Decimal | None, from_supplier: float | Decimal | None, default: float) -> float:
        if own is not None:
            return float(own)
        return float(from_supplier) if from_supplier is not None else default

    return SupplyTerms(
        lead_time_days=pick(item.lead_time_days, supplier.lead_time_days if supplier else None, DEFAULT_LEAD_TIME_DAYS),
        lead_time_std_days=pick(
            item.lead_time_std_days, supplier.lead_time_std_days if supplier else None, DEFAULT_LEAD_TIME_STD_DAYS
        ),
        min_order_qty=int(
            pick(item.min_order_qty, supplier.min_order_qty if supplier else None, DEFAULT_MIN_ORDER_QTY)
        ),
        pack_size=int(pick(item.pack_size, supplier.pack_size if supplier else None, DEFAULT_PACK_SIZE)),
        order_cost=pick(item.order_cost, supplier.order_cost if supplier else None, DEFAULT_ORDER_COST),
    )


def stock_item_list() -> QuerySet[StockItem]:
    return StockItem.objects.select_related("product", "supplier").order_by("product__external_id")


def stock_item_get(*, product_id: str) -> StockItem | None:
    """The stock of the product with this external id, or None."""
    return stock_item_list().filter(product__external_id=product_id).first()


def in_transit_by_product(product_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Units in transit per product pk (shipments not yet received)."""
    shipments = InboundShipment.objects.filter(status=InboundShipment.Status.IN_TRANSIT)
    if product_ids is not None:
        shipments = shipments.filter(product_id__in=list(product_ids))
    return {
        row["product_id"]: int(row["units"]) for row in shipments.values("product_id").annotate(units=Sum("quantity"))
    }


def shipments_in_transit(product_ids: Iterable[int] | None = None) -> list[InboundShipment]:
    shipments = InboundShipment.objects.filter(status=InboundShipment.Status.IN_TRANSIT)
    if product_ids is not None:
        shipments = shipments.filter(product_id__in=list(product_ids))
    return list(shipments.order_by("expected_arrival", "id"))


def latest_succeeded_forecast_run() -> ForecastRun | None:
    return ForecastRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-created_at", "-id").first()


def active_plan() -> ReorderPlan | None:
    return ReorderPlan.objects.filter(status=ReorderPlan.Status.ACTIVE).select_related("forecast_run").first()


def plan_list() -> QuerySet[ReorderPlan]:
    return ReorderPlan.objects.order_by("-created_at", "-id")


def plan_lines(plan: ReorderPlan, *, to_order_only: bool = False) -> QuerySet[ReorderPlanLine]:
    """A plan's lines with their product and supplier, biggest orders first, then by product id."""
    lines = ReorderPlanLine.objects.filter(plan=plan).select_related("product", "supplier")
    if to_order_only:
        lines = lines.filter(order_quantity__gt=0)
    return lines.order_by("-order_value", "product__external_id")


def plan_line_for_product(plan: ReorderPlan, product_pk: int) -> ReorderPlanLine | None:
    lines = ReorderPlanLine.objects.filter(plan=plan, product_id=product_pk)
    return lines.select_related("product", "supplier", "plan").first()


def approved_plan_line_ids(line_ids: Iterable[int]) -> set[int]:
    """Plan lines among `line_ids` already approved into a purchase order."""
    return set(PurchaseOrderLine.objects.filter(plan_line_id__in=list(line_ids)).values_list("plan_line_id", flat=True))
