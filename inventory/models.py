"""Stock, suppliers, versioned reorder plans, purchase orders and receipts of a store.

Every model is tenant-owned (`tenant_id` first in every unique constraint and index, row-level security in
PostgreSQL). Quantities are whole units; lead times are in days (the plan converts them into forecast periods).

Supplier terms can be set once per supplier and overridden per product on its StockItem (a NULL override means
"use the supplier's term", and a product without a supplier uses `DEFAULT_TERMS`); `inventory.selectors.
stock_item_terms` resolves them. Stock changes go through `inventory.services` (approving plan lines raises
`on_order`, a receipt moves units from `on_order` or from an inbound shipment into `on_hand`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from retailsite.commerce.models import Product
from retailsite.tenancy.models import TenantOwnedModel

MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 2}


class Supplier(TenantOwnedModel):
    """Who a product is bought from, and the terms that apply to its products unless a product overrides them."""

    name = models.CharField(max_length=200)
    lead_time_days = models.FloatField(
        default=7.0, validators=[MinValueValidator(0)], help_text="mean days from ordering to receiving"
    )
    lead_time_std_days = models.FloatField(
        default=0.0, validators=[MinValueValidator(0)], help_text="standard deviation of the lead time, in days"
    )
    min_order_qty = models.PositiveIntegerField(default=0, help_text="minimum units per order line (0 = none)")
    pack_size = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="units are ordered in whole packs of this size"
    )
    order_cost = models.DecimalField(
        **MONEY,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="fixed cost of placing one order (shipping, handling)",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="supplier_tenant_name_uniq")]

    def __str__(self) -> str:
        return self.name


class StockItem(TenantOwnedModel):
    """A product's stock and the costs and terms its reorder policy is computed from."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="items")
    on_hand = models.PositiveIntegerField(default=0)
    on_order = models.PositiveIntegerField(
        default=0,
        help_text="ordered from the supplier, not yet shipped or received (shipments in transit are counted apart)",
    )
    unit_cost = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="purchase price per unit; empty = the product's cost",
    )
    unit_volume = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0)],
        help_text="warehouse volume per unit (same unit as the warehouse capacity)",
    )
    holding_cost_rate = models.FloatField(
        default=0.25,
        validators=[MinValueValidator(0.0001), MaxValueValidator(10)],
        help_text="yearly holding cost as a fraction of the unit cost",
    )
    stockout_cost = models.DecimalField(
        **MONEY,
        default=0,
        validators=[MinValueValidator(0)],
        help_text="penalty per unit of lost demand, on top of the lost margin",
    )
    service_level = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.9999)],
        help_text="target cycle service level; empty = the newsvendor fractile when a "
        "stockout cost is set, else the store's default service level",
    )
    # Per-product overrides of the supplier's terms (empty = the supplier's).
    lead_time_days = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    lead_time_std_days = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0)])
    min_order_qty = models.PositiveIntegerField(null=True, blank=True)
    pack_size = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    order_cost = models.DecimalField(**MONEY, null=True, blank=True, validators=[MinValueValidator(0)])
    # Both kept by the database on every write that changes the row (the incremental sync; retailsite/api/sync.py).
    updated_at = models.DateTimeField(auto_now=True)
    change_seq = models.BigIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "product"], name="stockitem_tenant_product_uniq"),
            models.CheckConstraint(
                condition=Q(pack_size__isnull=True) | Q(pack_size__gte=1), name="stockitem_pack_size_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "supplier"], name="stockitem_tenant_supplier_idx"),
            models.Index(fields=["tenant", "change_seq", "id"], name="stockitem_tenant_sync_idx"),
        ]

    def __str__(self) -> str:
        return f"stock of product {self.product_id}"


class InboundShipment(TenantOwnedModel):
    """Units shipped by a supplier and on their way, with the day they are expected."""

    class Status(models.TextChoices):
        IN_TRANSIT = "in_transit", "In transit"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    purchase_order_line = models.ForeignKey(
        "PurchaseOrderLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments"
    )
    quantity = models.PositiveIntegerField()
    expected_arrival = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_TRANSIT)
    created_at = models.DateTimeField(auto_now_add=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expected_arrival"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_quantity_positive")]
        indexes = [models.Index(fields=["tenant", "product", "status"], name="shipment_tenant_product_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} units of product {self.product_id} due {self.expected_arrival}"


class ReorderPlan(TenantOwnedModel):
    """One version of the store's reorder plan. Only one is active; a failed plan never replaces it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    forecast_run = models.ForeignKey(
        "forecasting.ForecastRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Time base: the forecast's periods; lead times and the review period are converted into them.
    frequency = models.CharField(max_length=1, blank=True)
    period_days = models.FloatField(default=7.0)
    review_period_days = models.PositiveIntegerField(default=7)
    periods = models.JSONField(default=list, blank=True, help_text="start dates of the forecast periods planned on")
    # Limits used (NULL = unlimited) and what the orders need.
    budget = models.FloatField(null=True, blank=True)
    warehouse_capacity = models.FloatField(null=True, blank=True)
    free_volume = models.FloatField(null=True, blank=True, help_text="capacity minus the volume on hand and on the way")
    suggested_value = models.FloatField(default=0.0)
    suggested_volume = models.FloatField(default=0.0)
    order_value = models.FloatField(default=0.0)
    order_volume = models.FloatField(default=0.0)
    n_products = models.PositiveIntegerField(default=0)
    n_to_order = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True, help_text="products left out of the plan, and why")
    # How the limits were applied: "not_needed" when the suggested orders fit, else the optimizer's status.
    solver_status = models.CharField(max_length=20, blank=True)
    solver_message = models.TextField(blank=True)
    # Simulated figures of this plan and of the naive rule (order what sold last period), side by side.
    simulation = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="why the plan failed")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(status="active"), name="reorderplan_one_active_per_tenant"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="reorderplan_tenant_status_idx")]

    def __str__(self) -> str:
        return f"reorder plan {self.pk} ({self.status})"

    def simulated(self, rule: str, figure: str) -> float | None:
        """A simulated figure ("total_cost", "fill_rate", ...) of "plan" or "naive", if the plan was simulated."""
        value = (self.simulation or {}).get(rule, {}).get(figure)
        return None if value is None else float(value)


class ReorderPlanLine(TenantOwnedModel):
    """One product of a plan, with every number it came from (quantities in units, times in forecast periods)."""

    plan = models.ForeignKey(ReorderPlan, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Stock when planned.
    on_hand = models.FloatField()
    on_order = models.FloatField(help_text="on order with the supplier, not yet shipped")
    in_transit = models.FloatField(default=0.0)
    inventory_position = models.FloatField(help_text="on hand + on order + in transit")
    # Costs and terms used.
    unit_cost = models.FloatField()
    unit_price = models.FloatField(default=0.0)
    unit_volume = models.FloatField(default=0.0)
    holding_cost_per_period = models.FloatField(help_text="per unit")
    order_cost = models.FloatField(default=0.0)
    min_order_qty = models.FloatField(default=0.0)
    pack_size = models.FloatField(default=1.0)
    lead_time_days = models.FloatField()
    lead_time_std_days = models.FloatField()
    lead_time_periods = models.FloatField()
    lead_time_std_periods = models.FloatField()
    review_period = models.FloatField(help_text="periods between reviews")
    protection_periods = models.FloatField(help_text="lead time + review period")
    # Demand from the forecast quantiles.
    mean_demand_per_period = models.FloatField()
    demand_lead_time_mean = models.FloatField()
    demand_lead_time_std = models.FloatField()
    demand_protection_mean = models.FloatField(help_text="mean demand over lead time + review period")
    demand_protection_std = models.FloatField(help_text="std of the demand over lead time + review period")
    demand_p50 = models.JSONField(default=list, blank=True, help_text="forecast P50 per period (for the chart)")
    scheduled_arrivals = models.JSONField(
        default=list, blank=True, help_text="units already on the way, per period from the plan's start"
    )
    # Policy.
    underage_cost = models.FloatField(help_text="cost of a unit short: lost margin + stockout cost")
    overage_cost = models.FloatField(help_text="cost of a unit left over: holding over one order cycle")
    order_cycle_periods = models.FloatField()
    critical_fractile = models.FloatField(help_text="probability the reorder point covers the demand")
    service_level_source = models.CharField(max_length=12, help_text="newsvendor (from costs) or target")
    safety_stock = models.FloatField()
    reorder_point = models.FloatField()
    order_up_to = models.FloatField()
    eoq = models.FloatField()
    lot_size = models.FloatField()
    policy_rule = models.CharField(
        max_length=12,
        default="closed_form",
        help_text="dynamic (s and S from the program over the next reviews) or closed_form (one protection interval)",
    )
    dynamic_reviews = models.PositiveSmallIntegerField(default=0, help_text="reviews the program looked ahead")
    program_shortage_cost = models.FloatField(
        null=True, blank=True, help_text="shortage cost per unit the program used (implied by a target service level)"
    )
    cost_with_order = models.FloatField(
        null=True, blank=True, help_text="program: expected cost over its reviews of the best order now (a lot+)"
    )
    cost_without_order = models.FloatField(
        null=True, blank=True, help_text="program: expected cost over its reviews when not ordering now"
    )
    # Order.
    suggested_quantity = models.FloatField(help_text="what the policy wants, before budget and capacity")
    order_quantity = models.FloatField(help_text="what to order, after budget and capacity")
    expected_fill_rate = models.FloatField()
    order_value = models.FloatField()
    order_volume = models.FloatField()
    # Simulated over sampled forecast demand: this plan's policy and the naive rule.
    simulated_cost = models.FloatField(null=True, blank=True)
    simulated_fill_rate = models.FloatField(null=True, blank=True)
    naive_simulated_cost = models.FloatField(null=True, blank=True)
    naive_simulated_fill_rate = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-order_value", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "product"], name="planline_tenant_plan_product_uniq"),
        ]
        indexes = [models.Index(fields=["tenant", "product"], name="planline_tenant_product_idx")]

    def __str__(self) -> str:
        return f"plan {self.plan_id}: product {self.product_id} x{self.order_quantity:g}"


class PurchaseOrder(TenantOwnedModel):
    """Orders sent to one supplier, approved from plan lines."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PARTIALLY_RECEIVED = "partial", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(
        max_length=30, blank=True, help_text="PO-000123, counted per store (services.purchase_order_number)"
    )
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    plan = models.ForeignKey(
        ReorderPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchase_orders"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], condition=~Q(number=""), name="purchaseorder_tenant_number_uniq"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="po_tenant_status_idx")]

    def __str__(self) -> str:
        return self.number or f"purchase order {self.pk}"


class PurchaseOrderLine(TenantOwnedModel):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    plan_line = models.ForeignKey(
        ReorderPlanLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchase_order_lines"
    )
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(**MONEY, default=0)
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "purchase_order", "product"], name="poline_tenant_po_product_uniq"
            ),
            # A plan line is approved at most once.
            models.UniqueConstraint(
                fields=["tenant", "plan_line"], condition=Q(plan_line__isnull=False), name="poline_tenant_planline_uniq"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="poline_quantity_positive"),
        ]
        indexes = [models.Index(fields=["tenant", "product"], name="poline_tenant_product_idx")]

    def __str__(self) -> str:
        return f"{self.purchase_order}: {self.quantity} x product {self.product_id}"

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.quantity_received, 0)


class Receipt(TenantOwnedModel):
    """Units received into the warehouse. Recorded through `inventory.services.receipt_record`, which updates stock."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts"
    )
    shipment = models.ForeignKey(
        InboundShipment, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts"
    )
    quantity = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="receipt_quantity_positive")]
        indexes = [models.Index(fields=["tenant", "product", "-received_at"], name="receipt_tenant_product_idx")]

    def __str__(self) -> str:
        return f"received {self.quantity} x product {self.product_id}"
