"""Admin: the audit log and erasure records (read-only), data-subject actions on customers, and the
staff sign-in form with lock-out.

The customer admin is re-registered here as a subclass of commerce's `CustomerAdmin` so the
privacy features live in this app: reads of personal data on the change page and the list are
audited, and managers and owners get "Export personal data" and "Erase personal data" actions.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from retailsite.commerce.admin import CustomerAdmin
from retailsite.commerce.models import Customer
from retailsite.tenancy.admin_base import TenantScopedAdmin, request_can
from retailsite.tenancy.permissions import Capability

from .forms import LockoutAdminAuthenticationForm
from .models import AuditLogEntry, ErasureRecord
from .services import (
    audit_record_reads,
    customer_erasure_perform,
    customer_export_zip,
    customers_personalization_purge,
)

MAX_EXPORT_SELECTION = 50
MAX_ERASE_SELECTION = 50

admin.site.login_form = LockoutAdminAuthenticationForm


class ReadOnlyTenantAdmin(TenantScopedAdmin):
    capability = Capability.VIEW_AUDIT_LOG
    actions = None
    actions_on_top = actions_on_bottom = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_can(request, self.capability)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_can(request, self.capability)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "seq",
        "occurred_at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "changed_field_names",
        "row_count",
        "request_id",
        "client_ip",
    ]
    list_filter = ["action", "object_type", "occurred_at"]
    search_fields = ["=object_id", "=request_id", "actor", "=client_ip"]
    search_help_text = "An object id, a request id or an IP address (exact), or part of an actor (user:12)."
    show_full_result_count = False  # a count(*) over a long log on every page is not worth it
    list_per_page = 100

    @admin.display(description="changed fields")
    def changed_field_names(self, entry: AuditLogEntry) -> str:
        return ", ".join(entry.changed_fields or [])


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyTenantAdmin):
    capability = Capability.EXPORT_PERSONAL_DATA
    list_display = ["erased_at", "pseudonym", "requested_by", "retrain_queued", "removed"]
    search_fields = ["=pseudonym"]


class PrivacyCustomerAdmin(CustomerAdmin):
    actions = ["export_personal_data", "erase_personal_data"]

    # -- who may ---------------------------------------------------------------------------------

    def has_export_personal_data_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.EXPORT_PERSONAL_DATA)

    def has_erase_personal_data_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.EXPORT_PERSONAL_DATA) and request_can(request, Capability.CHANGE)

    # -- withdrawing personalization consent here drops the precomputed lists at once, as elsewhere ------

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "personalization_consent" in form.changed_data and not obj.personalization_consent:
            customers_personalization_purge(customers=[obj])

    # -- reads of personal data are audited ----------------------------------------------------------

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original") if response.status_code == 200 else None
        if original is not None and request.method == "GET" and request_can(request, Capability.VIEW_PERSONAL_DATA):
            audit_record_reads(object_type=Customer, object_ids=[original.pk], tenant_id=original.tenant_id)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if response.status_code == 200 else None
        hidden = self._hidden_fields(request)
        shows_personal = any(
            column in self.personal_fields and column not in hidden for column in self.get_list_display(request)
        )
        if changelist is not None and shows_personal:
            shown: dict[int, list[int]] = {}  # a platform superuser's list spans stores
            for customer in changelist.result_list:
                shown.setdefault(customer.tenant_id, []).append(customer.pk)
            for tenant_id, ids in shown.items():
                audit_record_reads(object_type=Customer, object_ids=ids, tenant_id=tenant_id)
        return response

    # -- data-subject actions ------------------------------------------------------------------------

    @admin.action(description="Export personal data (zip)", permissions=["export_personal_data"])
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse | None:
        customers = list(queryset[: MAX_EXPORT_SELECTION + 1])
        if not customers:  # e.g. ids of another store's customers: not found here, so nothing to export
            self.message_user(request, "None of the selected customers exists in this store.", messages.ERROR)
            return None
        if len(customers) > MAX_EXPORT_SELECTION:
            self.message_user(
                request, f"Select at most {MAX_EXPORT_SELECTION} customers to export at once.", messages.ERROR
            )
            return None
        if len(customers) == 1:
            payload, name = customer_export_zip(customers[0]), f"customer-{customers[0].pk}.zip"
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for customer in customers:
                    archive.writestr(f"customer-{customer.pk}.zip", customer_export_zip(customer))
            payload, name = buffer.getvalue(), "customers.zip"
        response = HttpResponse(payload, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Erase personal data…", permissions=["erase_personal_data"])
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Customer]) -> TemplateResponse | None:
        customers = list(queryset[: MAX_ERASE_SELECTION + 1])
        if not customers:
            self.message_user(request, "None of the selected customers exists in this store.", messages.ERROR)
            return None
        if len(customers) > MAX_ERASE_SELECTION:
            self.message_user(
                request, f"Select at most {MAX_ERASE_SELECTION} customers to erase at once.", messages.ERROR
            )
            return None
        if request.POST.get("confirm") == "yes":
            for customer in customers:
                customer_erasure_perform(customer=customer)
            self.message_user(
                request,
                f"Erased {len(customers)} customer(s): personal data removed, orders "
                "kept anonymized, a retrain queued.",
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "privacy/erase_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Erase personal data?",
                "opts": self.model._meta,
                "customers": customers,
                "action_name": "erase_personal_data",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


admin.site.unregister(Customer)
admin.site.register(Customer, PrivacyCustomerAdmin)
