"""Staff admin of commerce data; every write goes through retailsite.commerce.services."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Field, QuerySet
from django.forms import BaseInlineFormSet, BaseModelFormSet, ModelForm
from django.forms import Field as FormField
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest

from retailsite.encryption.crypto import blind_index
from retailsite.errors import Conflict, InvalidInput
from retailsite.tenancy.admin_base import TenantScopedAdmin, TenantScopedInline, request_can
from retailsite.tenancy.context import require_tenant_id, tenant_context
from retailsite.tenancy.permissions import Capability

from . import services
from .models import Category, Customer, Event, Follow, Order, OrderLine, Product


@admin.register(Customer)
class CustomerAdmin(TenantScopedAdmin):
    # Birth year, gender and city together single a shopper out: personal data, as e-mail and name are.
    personal_fields = ("email", "name", "phone", "address", "birth_year", "gender", "city")
    list_display = ["external_id", "name", "email", "gender", "birth_year", "city", "personalization_consent"]
    list_filter = ["gender", "personalization_consent", "marketing_consent"]
    search_fields = ["external_id"]
    search_help_text = "Customer id, or an exact e-mail address (matched through its keyed hash)."

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # E-mail is encrypted: match it exactly through the blind index, and only for roles that see it.
        term = search_term.strip()
        if "@" in term and request_can(request, Capability.VIEW_PERSONAL_DATA):
            return queryset.filter(email_hash=blind_index(term)), False
        return super().get_search_results(request, queryset, search_term)

    def save_model(self, request: HttpRequest, obj: Customer, form: ModelForm, change: bool) -> None:
        services.customer_save(customer=obj, changed_fields=form.changed_data if change else ())

    def delete_model(self, request: HttpRequest, obj: Customer) -> None:
        services.customer_delete(customer=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset:
            services.customer_delete(customer=customer)


@admin.register(Category)
class CategoryAdmin(TenantScopedAdmin):
    list_display = ["path", "parent"]
    search_fields = ["path"]


@admin.register(Product)
class ProductAdmin(TenantScopedAdmin):
    list_display = ["external_id", "name", "category", "brand", "price", "active"]
    list_filter = ["active", "category"]
    search_fields = ["external_id", "name", "brand"]
    list_select_related = ["category"]

    def save_model(self, request: HttpRequest, obj: Product, form: ModelForm, change: bool) -> None:
        services.product_save(product=obj)

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        try:
            services.product_delete(product=obj)
        except Conflict as refusal:  # the delete page lists protecting orders first; a race lands here
            messages.error(request, str(refusal))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:
            self.delete_model(request, product)


_LINE_PRODUCT = re.compile(r"lines\[(\d+)\]\.product_id")


def _store_of(order: Order) -> int:
    """The order's store (a new order's is the one the user works on)."""
    return order.tenant_id or require_tenant_id()


class OrderLineFormSet(BaseInlineFormSet):
    """An order's lines as services.order_save takes them, refused by its rules before anything is saved."""

    def _kept_forms(self) -> list[ModelForm]:
        deleted = self.can_delete and DELETION_FIELD_NAME
        return [form for form in self.forms if form.cleaned_data and not (deleted and form.cleaned_data.get(deleted))]

    def service_lines(self) -> list[dict[str, Any]]:
        return [
            {
                "product_external_id": form.cleaned_data["product"].external_id,
                "quantity": form.cleaned_data["quantity"],
                "unit_price": form.cleaned_data.get("unit_price"),
            }
            for form in self._kept_forms()
        ]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        forms = self._kept_forms()
        try:
            with tenant_context(_store_of(self.instance)):
                services.order_lines_check(lines=self.service_lines())
        except InvalidInput as refusal:
            unplaced: list[str] = []
            for path, problems in refusal.fields.items():
                line = _LINE_PRODUCT.fullmatch(path)
                if line is None:
                    unplaced += problems
                else:
                    forms[int(line.group(1))].add_error("product", problems)
            if unplaced:
                raise ValidationError(unplaced) from None


class OrderLineInline(TenantScopedInline):
    model = OrderLine
    formset = OrderLineFormSet
    extra = 0
    raw_id_fields = ["product"]

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> FormField | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "unit_price" and formfield is not None:
            # As on every write path: a line without a price keeps the one it had, or takes the product's.
            formfield.required = False
            formfield.help_text = "Empty: the line keeps its price; a new line takes the product's."
        return formfield


@admin.register(Order)
class OrderAdmin(TenantScopedAdmin):
    list_display = ["external_id", "customer", "ordered_at", "channel"]
    list_filter = ["channel"]
    date_hierarchy = "ordered_at"
    search_fields = ["external_id", "customer__external_id"]
    raw_id_fields = ["customer"]
    inlines = [OrderLineInline]

    def save_model(self, request: HttpRequest, obj: Order, form: ModelForm, change: bool) -> None:
        # Nothing written yet: the order is saved with its lines in save_related, in one service call.
        obj.tenant_id = _store_of(obj)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseModelFormSet], change: bool
    ) -> None:
        lines = next((formset for formset in formsets if isinstance(formset, OrderLineFormSet)), None)
        with tenant_context(form.instance.tenant_id):
            services.order_save(order=form.instance, lines=None if lines is None else lines.service_lines())
        if lines is not None:
            lines.save(commit=False)  # writes nothing: lists the added, changed and deleted lines for the history

    def delete_model(self, request: HttpRequest, obj: Order) -> None:
        services.order_delete(order=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            services.order_delete(order=order)


@admin.register(Event)
class EventAdmin(TenantScopedAdmin):
    list_display = ["occurred_at", "event_type", "customer", "session_id", "product", "value"]
    list_filter = ["event_type"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["customer", "product"]
    list_select_related = ["customer", "product"]


@admin.register(Follow)
class FollowAdmin(TenantScopedAdmin):
    list_display = ["follower", "followee", "created_at"]
    raw_id_fields = ["follower", "followee"]
