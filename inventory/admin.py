"""Inventory in the staff admin: stock and suppliers, plans and their lines (read-only, with the projected-stock
chart), approving lines into purchase orders, shipments and receipts (which update stock).

Writes that change stock go through `inventory.services`; the admin classes only call them. Approving and
activating need the CHANGE capability of the staff member's role.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, quote
from django.contrib.admin.views.main import ChangeList
from django.db import IntegrityError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from retailsite.tenancy.admin_base import TenantScopedAdmin, TenantScopedInline, request_can
from retailsite.tenancy.models import TenantOwnedModel
from retailsite.tenancy.permissions import Capability

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
from .selectors import in_transit_by_product
from .services import (
    InventoryError,
    purchase_order_receive_outstanding,
    purchase_orders_create_from_plan_lines,
    receipt_record,
    reorder_plan_activate,
    shipment_create,
)


class ReadOnlyAdminMixin:
    """Rows written by services only: visible to every role that may view, never edited or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Supplier)
class SupplierAdmin(TenantScopedAdmin):
    list_display = ["name", "lead_time_days", "lead_time_std_days", "min_order_qty", "pack_size", "order_cost"]
    search_fields = ["name"]


@admin.register(StockItem)
class StockItemAdmin(TenantScopedAdmin):
    list_display = [
        "product",
        "on_hand",
        "on_order",
        "in_transit",
        "supplier",
        "unit_cost",
        "unit_volume",
        "service_level",
        "updated_at",
    ]
    list_select_related = ["product", "supplier"]
    list_filter = ["supplier"]
    search_fields = ["product__external_id", "product__name"]
    raw_id_fields = ["product"]
    fieldsets = [
        (None, {"fields": ["product", "supplier", "on_hand", "on_order"]}),
        (
            "Costs and service",
            {"fields": ["unit_cost", "unit_volume", "holding_cost_rate", "stockout_cost", "service_level"]},
        ),
        (
            "Supplier terms for this product (empty = the supplier's)",
            {"fields": ["lead_time_days", "lead_time_std_days", "min_order_qty", "pack_size", "order_cost"]},
        ),
    ]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        self._in_transit = in_transit_by_product(item.product_id for item in changelist.result_list)
        return changelist

    @admin.display(description="in transit")
    def in_transit(self, item: StockItem) -> int:
        return getattr(self, "_in_transit", {}).get(item.product_id, 0)


# -- plans ---------------------------------------------------------------------------------------------------------


SOLVER_STATUS_LABELS = {
    "not_needed": "not needed (the suggested orders fit the limits)",
    "optimal": "optimized within the limits (optimal)",
    "time_limit": "optimized within the limits (time limit reached)",
    "infeasible": "infeasible: no order set fits the limits",
    "invalid_input": "invalid input",
}


def _money(value: object) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _rate(value: object) -> str:
    return "—" if value is None else f"{value:.3f}"


@admin.register(ReorderPlan)
class ReorderPlanAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = [
        "id",
        "status",
        "created_at",
        "forecast_run",
        "n_products",
        "n_to_order",
        "order_value_",
        "budget_",
        "limits",
        "plan_cost",
        "naive_cost",
    ]
    list_filter = ["status"]
    list_select_related = ["forecast_run"]
    actions = ["activate"]
    fieldsets = [
        (None, {"fields": ["status", "created_at", "activated_at", "forecast_run", "error", "lines_link"]}),
        ("Time base", {"fields": ["frequency", "period_days", "review_period_days", "periods"]}),
        (
            "Limits",
            {
                "fields": [
                    "budget_",
                    "warehouse_capacity",
                    "free_volume",
                    "suggested_value_",
                    "suggested_volume",
                    "order_value_",
                    "order_volume",
                    "limits",
                    "solver_message",
                ]
            },
        ),
        ("Simulation (plan vs naive rule)", {"fields": ["simulation_table"]}),
        ("Products", {"fields": ["n_products", "n_to_order", "skipped_list"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return flatten_fieldsets(self.fieldsets or ())

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.CHANGE)

    @admin.display(description="order value", ordering="order_value")
    def order_value_(self, plan: ReorderPlan) -> str:
        return _money(plan.order_value)

    @admin.display(description="suggested value", ordering="suggested_value")
    def suggested_value_(self, plan: ReorderPlan) -> str:
        return _money(plan.suggested_value)

    @admin.display(description="budget", ordering="budget")
    def budget_(self, plan: ReorderPlan) -> str:
        return _money(plan.budget) if plan.budget else "unlimited"

    @admin.display(description="limits applied", ordering="solver_status")
    def limits(self, plan: ReorderPlan) -> str:
        return SOLVER_STATUS_LABELS.get(plan.solver_status, plan.solver_status.replace("_", " ") or "—")

    @admin.display(description="simulated cost")
    def plan_cost(self, plan: ReorderPlan) -> str:
        value = plan.simulated("plan", "total_cost")
        return "—" if value is None else f"{value:,.2f}"

    @admin.display(description="naive rule cost")
    def naive_cost(self, plan: ReorderPlan) -> str:
        value = plan.simulated("naive", "total_cost")
        return "—" if value is None else f"{value:,.2f}"

    @admin.display(description="lines")
    def lines_link(self, plan: ReorderPlan) -> str:
        url = reverse("admin:inventory_reorderplanline_changelist")
        links = format_html(
            '<a href="{}?plan__id__exact={}">every line</a> · '
            '<a href="{}?plan__id__exact={}&amp;order_quantity__gt=0">lines to order</a>',
            url,
            plan.pk,
            url,
            plan.pk,
            url,
            plan.pk,
        )
        if plan.status == ReorderPlan.Status.ACTIVE:
            links += format_html(' · <a href="{}">staff page</a>', reverse("inventory:plan"))
        return links

    @admin.display(description="simulated figures")
    def simulation_table(self, plan: ReorderPlan) -> str:
        figures = plan.simulation or {}
        if "plan" not in figures:
            return figures.get("error", "not simulated")
        rows = [
            (name.replace("_", " "), f"{figures['plan'].get(name, 0):,.3f}", f"{figures['naive'].get(name, 0):,.3f}")
            for name in (
                "total_cost",
                "holding_cost",
                "ordering_cost",
                "shortage_cost",
                "fill_rate",
                "stockout_periods",
                "average_on_hand",
                "orders_placed",
            )
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            '<table class="figures"><tr><th></th><th>plan</th><th>naive</th></tr>{}</table>'
            "<p>{} periods x {} scenarios of sampled forecast demand</p>",
            body,
            figures.get("periods"),
            figures.get("scenarios"),
        )

    @admin.display(description="skipped products")
    def skipped_list(self, plan: ReorderPlan) -> str:
        if not plan.skipped:
            return "none"
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((entry.get("reason", ""),) for entry in plan.skipped))
        )

    @admin.action(description="Activate the selected plan (it replaces the active one)", permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ReorderPlan]) -> None:
        plans = list(queryset[:2])
        if len(plans) != 1:
            self.message_user(request, "Select exactly one plan to activate.", messages.WARNING)
            return
        try:
            reorder_plan_activate(plan=plans[0])
        except InventoryError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, f"Plan {plans[0].pk} is now active.", messages.SUCCESS)


class OrderQuantityFilter(admin.SimpleListFilter):
    title = "order"
    parameter_name = "order_quantity__gt"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("0", "something to order")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(order_quantity__gt=0) if self.value() == "0" else queryset


@admin.register(ReorderPlanLine)
class ReorderPlanLineAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    change_form_template = "inventory/admin/planline_change_form.html"
    list_display = [
        "product_id_",
        "on_hand",
        "safety_stock_",
        "reorder_point_",
        "order_up_to_",
        "suggested_quantity",
        "order_quantity",
        "fill_rate",
        "order_value_",
        "approved",
    ]
    list_select_related = ["product", "supplier", "plan"]
    ordering = ["-plan__created_at", "-order_value", "id"]
    list_filter = ["plan__status", OrderQuantityFilter, "policy_rule", "service_level_source", "supplier", "plan"]
    search_fields = ["product__external_id", "product__name"]
    actions = ["approve"]
    fieldsets = [
        (None, {"fields": ["plan", "product", "supplier", "chart_link"]}),
        ("Stock", {"fields": ["on_hand", "on_order", "in_transit", "inventory_position", "scheduled_arrivals"]}),
        (
            "Costs and terms",
            {
                "fields": [
                    "unit_cost",
                    "unit_price",
                    "unit_volume",
                    "holding_cost_per_period",
                    "order_cost",
                    "min_order_qty",
                    "pack_size",
                    "lead_time_days",
                    "lead_time_std_days",
                    "lead_time_periods",
                    "lead_time_std_periods",
                    "review_period",
                    "protection_periods",
                ]
            },
        ),
        (
            "Demand (from the forecast quantiles)",
            {
                "fields": [
                    "mean_demand_per_period",
                    "demand_lead_time_mean",
                    "demand_lead_time_std",
                    "demand_protection_mean",
                    "demand_protection_std",
                    "demand_p50",
                ]
            },
        ),
        (
            "Policy",
            {
                "fields": [
                    "underage_cost",
                    "overage_cost",
                    "order_cycle_periods",
                    "critical_fractile",
                    "service_level_source",
                    "policy_rule",
                    "dynamic_reviews",
                    "program_shortage_cost",
                    "cost_with_order",
                    "cost_without_order",
                    "safety_stock",
                    "reorder_point",
                    "order_up_to",
                    "eoq",
                    "lot_size",
                ]
            },
        ),
        (
            "Order",
            {"fields": ["suggested_quantity", "order_quantity", "fill_rate", "order_value_", "order_volume"]},
        ),
        (
            "Simulation over sampled forecast demand",
            {"fields": ["simulated_figures"]},
        ),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return flatten_fieldsets(self.fieldsets or ())

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.CHANGE)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        self._approved = set(
            PurchaseOrderLine.objects.filter(plan_line__in=[line.pk for line in changelist.result_list]).values_list(
                "plan_line_id", flat=True
            )
        )
        return changelist

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        line = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if line is not None:
            from .charts import projected_stock_chart  # numpy: loaded by the page that draws it, not at start-up

            extra["projected_stock_chart"] = projected_stock_chart(line.plan, line)
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="product", ordering="product__external_id")
    def product_id_(self, line: ReorderPlanLine) -> str:
        return line.product.external_id

    @admin.display(description="safety stock", ordering="safety_stock")
    def safety_stock_(self, line: ReorderPlanLine) -> str:
        return f"{line.safety_stock:,.1f}"

    @admin.display(description="reorder point", ordering="reorder_point")
    def reorder_point_(self, line: ReorderPlanLine) -> str:
        return f"{line.reorder_point:,.1f}"

    @admin.display(description="order-up-to", ordering="order_up_to")
    def order_up_to_(self, line: ReorderPlanLine) -> str:
        return f"{line.order_up_to:,.1f}"

    @admin.display(description="expected fill rate (policy model)", ordering="expected_fill_rate")
    def fill_rate(self, line: ReorderPlanLine) -> str:
        return f"{line.expected_fill_rate:.3f}"

    @admin.display(description="simulated")
    def simulated_figures(self, line: ReorderPlanLine) -> str:
        if line.simulated_cost is None:
            return "not simulated"
        return format_html(
            '<table class="figures"><tr><th></th><th>cost</th><th>fill rate</th></tr>'
            "<tr><td>this plan</td><td>{}</td><td>{}</td></tr>"
            "<tr><td>naive rule</td><td>{}</td><td>{}</td></tr></table>"
            "<p>The expected fill rate is the policy's own model of demand; the simulated one replays sampled forecast "
            "demand with lead times, lots and the review cycle, so it is usually lower.</p>",
            _money(line.simulated_cost),
            _rate(line.simulated_fill_rate),
            _money(line.naive_simulated_cost),
            _rate(line.naive_simulated_fill_rate),
        )

    @admin.display(description="value", ordering="order_value")
    def order_value_(self, line: ReorderPlanLine) -> str:
        return f"{line.order_value:,.2f}"

    @admin.display(description="approved", boolean=True)
    def approved(self, line: ReorderPlanLine) -> bool:
        return line.pk in getattr(self, "_approved", set())

    @admin.display(description="projected stock")
    def chart_link(self, line: ReorderPlanLine) -> str:
        return format_html(
            '<a href="{}">staff page with the projected-stock chart</a>',
            reverse("inventory:product", args=[line.product_id]),
        )

    @admin.action(description="Approve the selected lines into purchase orders", permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ReorderPlanLine]) -> None:
        try:
            result = purchase_orders_create_from_plan_lines(
                lines=queryset.select_related("plan", "product"), user=request.user
            )
        except IntegrityError:  # another approval of the same lines committed first
            self.message_user(
                request,
                "Some of these lines were approved at the same time by someone else; "
                "nothing was created. Reload and retry.",
                messages.ERROR,
            )
            return
        if result.purchase_orders:
            numbers = ", ".join(str(order) for order in result.purchase_orders)
            self.message_user(request, f"Created purchase order(s) {numbers}.", messages.SUCCESS)
        if result.skipped:
            shown = "; ".join(result.skipped[:10])
            more = f" and {len(result.skipped) - 10} more" if len(result.skipped) > 10 else ""
            self.message_user(request, f"Not approved: {shown}{more}.", messages.WARNING)


# -- purchase orders, shipments and receipts -----------------------------------------------------------------------


class PurchaseOrderLineInline(TenantScopedInline):
    model = PurchaseOrderLine
    extra = 0
    fields = readonly_fields = ("product", "quantity", "unit_cost", "quantity_received", "plan_line")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(TenantScopedAdmin):
    list_display = ["number", "supplier", "status", "created_at", "created_by", "plan"]
    list_filter = ["status", "supplier"]
    search_fields = ["number"]
    fields = ["number", "supplier", "plan", "status", "created_at", "created_by", "note"]
    readonly_fields = ["number", "supplier", "plan", "status", "created_at", "created_by"]
    inlines = [PurchaseOrderLineInline]
    actions = ["receive_outstanding"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # purchase orders come from approving plan lines

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return PurchaseOrderChangeList

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> PurchaseOrder | None:
        """By the store's own number (the links of the list), else by id (older links, the admin's history)."""
        if from_field is None and object_id.startswith("PO-"):
            return self.get_queryset(request).filter(number=object_id).first()
        return super().get_object(request, object_id, from_field)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description="Record receipt of every outstanding quantity", permissions=["change"])
    def receive_outstanding(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        receipts = []
        for order in queryset:
            receipts += purchase_order_receive_outstanding(purchase_order=order, user=request.user)
        units = sum(receipt.quantity for receipt in receipts)
        self.message_user(
            request, f"Recorded {len(receipts)} receipt(s), {units:,} units added to stock on hand.", messages.SUCCESS
        )


class PurchaseOrderChangeList(ChangeList):
    """Links to a purchase order by its per-store number, not its id (ids count every store's orders)."""

    def url_for_result(self, result: Model) -> str:
        number = getattr(result, "number", "")
        if not number:
            return super().url_for_result(result)
        return reverse(
            "admin:inventory_purchaseorder_change", args=(quote(number),), current_app=self.model_admin.admin_site.name
        )


class ServiceFormMixin:
    """Add forms whose save goes through a service; the service's refusal becomes a form error."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = self.create_through_service(request, form.cleaned_data)
        obj.pk = saved.pk
        obj.tenant_id = saved.tenant_id

    def create_through_service(self, request: HttpRequest, data: dict[str, Any]) -> TenantOwnedModel:
        raise NotImplementedError


class ReceiptForm(forms.ModelForm):
    """Checks that the purchase order line and the shipment belong to the product (the admin adds Meta at request
    time: a ModelForm's related querysets are tenant-scoped and must not be built at import)."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        product = data.get("product")
        for name in ("purchase_order_line", "shipment"):
            related = data.get(name)
            if product is not None and related is not None and related.product_id != product.pk:
                self.add_error(name, "This is for another product.")
        shipment = data.get("shipment")
        if shipment is not None and shipment.status != InboundShipment.Status.IN_TRANSIT:
            self.add_error("shipment", f"That shipment is already {shipment.get_status_display().lower()}.")
        return data


@admin.register(Receipt)
class ReceiptAdmin(ServiceFormMixin, TenantScopedAdmin):
    form = ReceiptForm
    fields = ["product", "quantity", "purchase_order_line", "shipment", "received_at", "note"]
    list_display = ["received_at", "product", "quantity", "purchase_order_line", "shipment", "created_by"]
    list_select_related = ["product", "purchase_order_line__purchase_order", "shipment", "created_by"]
    raw_id_fields = ["product", "purchase_order_line", "shipment"]
    search_fields = ["product__external_id"]
    date_hierarchy = "received_at"

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        from django.utils import timezone

        return {"received_at": timezone.now(), **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a receipt is a fact; correct it with another receipt

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def create_through_service(self, request: HttpRequest, data: dict[str, Any]) -> TenantOwnedModel:
        return receipt_record(
            product=data["product"],
            quantity=data["quantity"],
            purchase_order_line=data.get("purchase_order_line"),
            shipment=data.get("shipment"),
            received_at=data.get("received_at"),
            note=data.get("note", ""),
            user=request.user,
        )


@admin.register(InboundShipment)
class InboundShipmentAdmin(ServiceFormMixin, TenantScopedAdmin):
    list_display = ["product", "quantity", "expected_arrival", "status", "purchase_order_line", "received_at"]
    list_select_related = ["product", "purchase_order_line__purchase_order"]
    list_filter = ["status"]
    raw_id_fields = ["product", "purchase_order_line"]
    fields = ["product", "quantity", "expected_arrival", "purchase_order_line"]
    search_fields = ["product__external_id"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def create_through_service(self, request: HttpRequest, data: dict[str, Any]) -> TenantOwnedModel:
        return shipment_create(
            product=data["product"],
            quantity=data["quantity"],
            expected_arrival=data["expected_arrival"],
            purchase_order_line=data.get("purchase_order_line"),
        )
