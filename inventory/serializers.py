"""Request and response shapes of the inventory API (no business logic here).

Bounds are the stock importer's (`inventory.importers`), so a value the CSV import refuses is refused here too.
Products are named by their external id; database keys and the tenant never appear, and input serializers list
their fields explicitly (no mass assignment).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from retailsite.api.serializers import MAX_BATCH_ITEMS, PlainTextField
from retailsite.commerce.importers.fields import MAX_QUANTITY
from retailsite.commerce.models import Product

from .importers import (
    MAX_HOLDING_COST_RATE,
    MAX_LEAD_TIME_DAYS,
    MAX_SERVICE_LEVEL,
    MAX_STOCK_UNITS,
    MAX_UNIT_VOLUME,
    MIN_SERVICE_LEVEL,
)
from .models import StockItem, Supplier
from .selectors import stock_item_terms


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), **kwargs)


class StockInputSerializer(serializers.Serializer):
    """A product's stock. PUT replaces every field (omitted ones take the default); PATCH changes the given ones.

    Supplier terms left empty (null) fall back to the supplier's, then to the store default.
    """

    on_hand = serializers.IntegerField(min_value=0, max_value=MAX_STOCK_UNITS)
    on_order = serializers.IntegerField(min_value=0, max_value=MAX_STOCK_UNITS, default=0)
    supplier = PlainTextField(
        max_length=Supplier._meta.get_field("name").max_length,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="Supplier name; created if new; empty = none.",
    )
    unit_cost = _money(allow_null=True, default=None, help_text="Purchase price per unit; null = the product's cost.")
    unit_volume = serializers.FloatField(min_value=0, max_value=MAX_UNIT_VOLUME, default=0.0)
    holding_cost_rate = serializers.FloatField(
        min_value=0.0001,
        max_value=MAX_HOLDING_COST_RATE,
        default=0.25,
        help_text="Yearly holding cost as a fraction of the unit cost.",
    )
    stockout_cost = _money(default=Decimal("0"), help_text="Penalty per unit of lost demand.")
    service_level = serializers.FloatField(
        min_value=MIN_SERVICE_LEVEL,
        max_value=MAX_SERVICE_LEVEL,
        allow_null=True,
        default=None,
        help_text="Target cycle service level; null = newsvendor (with a stockout cost) or the store default.",
    )
    lead_time_days = serializers.FloatField(min_value=0, max_value=MAX_LEAD_TIME_DAYS, allow_null=True, default=None)
    lead_time_std_days = serializers.FloatField(
        min_value=0, max_value=MAX_LEAD_TIME_DAYS, allow_null=True, default=None
    )
    min_order_qty = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, allow_null=True, default=None)
    pack_size = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, allow_null=True, default=None)
    order_cost = _money(allow_null=True, default=None)

    class Meta:
        ref_name = "StockInput"

    def validate_supplier(self, value: str | None) -> str:
        return value or ""


class StockItemInputSerializer(StockInputSerializer):
    product_id = PlainTextField(max_length=Product._meta.get_field("external_id").max_length)

    class Meta:
        ref_name = "StockItemInput"


class StockBulkInputSerializer(serializers.Serializer):
    items = StockItemInputSerializer(many=True, allow_empty=False, max_length=MAX_BATCH_ITEMS)  # type: ignore[call-arg]

    class Meta:
        ref_name = "StockBulkInput"


class EffectiveTermsSerializer(serializers.Serializer):
    """Documents `effective_terms` in the schema."""

    lead_time_days = serializers.FloatField()
    lead_time_std_days = serializers.FloatField()
    min_order_qty = serializers.IntegerField()
    pack_size = serializers.IntegerField()
    order_cost = serializers.FloatField()

    class Meta:
        ref_name = "EffectiveTerms"


class StockOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField(source="product.external_id")
    on_hand = serializers.IntegerField()
    on_order = serializers.IntegerField()
    in_transit = serializers.SerializerMethodField()
    supplier = serializers.CharField(source="supplier.name", allow_null=True, default=None)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    unit_volume = serializers.FloatField()
    holding_cost_rate = serializers.FloatField()
    stockout_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    service_level = serializers.FloatField(allow_null=True)
    lead_time_days = serializers.FloatField(allow_null=True, help_text="This product's own term (null = inherited).")
    lead_time_std_days = serializers.FloatField(allow_null=True)
    min_order_qty = serializers.IntegerField(allow_null=True)
    pack_size = serializers.IntegerField(allow_null=True)
    order_cost = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    effective_terms = serializers.SerializerMethodField(
        help_text="The terms the plan uses (own, else supplier's, else the store default)."
    )
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Stock"

    @extend_schema_field(OpenApiTypes.INT)
    def get_in_transit(self, item: StockItem) -> int:
        return int(self.context.get("in_transit", {}).get(item.product_id, 0))

    @extend_schema_field(EffectiveTermsSerializer)
    def get_effective_terms(self, item: StockItem) -> dict[str, float]:
        terms = stock_item_terms(item, item.supplier)
        return {
            "lead_time_days": terms.lead_time_days,
            "lead_time_std_days": terms.lead_time_std_days,
            "min_order_qty": terms.min_order_qty,
            "pack_size": terms.pack_size,
            "order_cost": terms.order_cost,
        }


class PlanLineOutputSerializer(serializers.Serializer):
    """One product of the active plan with the numbers it came from (quantities in units)."""

    product_id = serializers.CharField(source="product.external_id")
    supplier = serializers.CharField(source="supplier.name", allow_null=True, default=None)
    on_hand = serializers.FloatField()
    on_order = serializers.FloatField()
    in_transit = serializers.FloatField()
    inventory_position = serializers.FloatField()
    lead_time_days = serializers.FloatField()
    review_period = serializers.FloatField(help_text="In forecast periods.")
    mean_demand_per_period = serializers.FloatField()
    demand_protection_mean = serializers.FloatField(help_text="Mean demand over lead time + review period.")
    demand_protection_std = serializers.FloatField()
    critical_fractile = serializers.FloatField()
    service_level_source = serializers.CharField()
    safety_stock = serializers.FloatField()
    reorder_point = serializers.FloatField()
    order_up_to = serializers.FloatField()
    eoq = serializers.FloatField()
    lot_size = serializers.FloatField()
    policy_rule = serializers.CharField(help_text="dynamic (the program over the next reviews) or closed_form.")
    dynamic_reviews = serializers.IntegerField(help_text="Reviews the program looked ahead (0 for closed_form).")
    program_shortage_cost = serializers.FloatField(allow_null=True)
    cost_with_order = serializers.FloatField(
        allow_null=True, help_text="Program's expected cost of the best order now."
    )
    cost_without_order = serializers.FloatField(allow_null=True, help_text="The same when not ordering now.")
    suggested_quantity = serializers.FloatField()
    order_quantity = serializers.FloatField()
    expected_fill_rate = serializers.FloatField()
    order_value = serializers.FloatField()
    order_volume = serializers.FloatField()

    class Meta:
        ref_name = "ReorderPlanLine"


class PlanSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    forecast_run = serializers.IntegerField(source="forecast_run_id", allow_null=True)
    frequency = serializers.CharField()
    review_period_days = serializers.IntegerField()
    budget = serializers.FloatField(allow_null=True)
    warehouse_capacity = serializers.FloatField(allow_null=True)
    free_volume = serializers.FloatField(allow_null=True)
    order_value = serializers.FloatField()
    order_volume = serializers.FloatField()
    n_products = serializers.IntegerField()
    n_to_order = serializers.IntegerField()
    solver_status = serializers.CharField()
    solver_message = serializers.CharField()
    simulation = serializers.JSONField()

    class Meta:
        ref_name = "ReorderPlanSummary"


class PlanFilterSerializer(serializers.Serializer):
    to_order = serializers.BooleanField(
        required=False, default=False, help_text="Only the lines with something to order."
    )

    class Meta:
        ref_name = "ReorderPlanFilter"
