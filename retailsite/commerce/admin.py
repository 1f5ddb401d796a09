"""Staff admin of commerce data; every write goes through retailsite.commerce.services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from retailsite.encryption.crypto import blind_index
from retailsite.errors import Conflict
from retailsite.tenancy.admin_base import TenantScopedAdmin, TenantScopedInline, request_can
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


class OrderLineInline(TenantScopedInline):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(TenantScopedAdmin):
    list_display = ["external_id", "customer", "ordered_at", "channel"]
    list_filter = ["channel"]
    date_hierarchy = "ordered_at"
    search_fields = ["external_id", "customer__external_id"]
    raw_id_fields = ["customer"]
    inlines = [OrderLineInline]


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
