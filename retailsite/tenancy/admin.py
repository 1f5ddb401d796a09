from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .admin_base import TenantScopedAdmin, request_can
from .context import current_tenant_id
from .domains import challenge_record, tenant_domain_verify
from .forms import MembershipForm, TenantDomainForm, TenantForm
from .models import Membership, Tenant, TenantDomain, TrainingRun
from .permissions import Capability

admin.site.site_header = "Retail personalization — staff"
admin.site.site_title = "Staff admin"
admin.site.index_title = "Store administration"


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    """Superusers manage every store; a store's owner edits its own name and settings."""

    form = TenantForm
    list_display = ["slug", "name", "currency", "timezone", "is_active", "created_at"]
    search_fields = ["slug", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser and current_tenant_id() is None:
            return queryset
        return queryset.filter(pk=current_tenant_id())

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        return [] if request.user.is_superuser else ["slug", "is_active"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return request_can(request, Capability.VIEW)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        return request.user.is_superuser


class MembersAdmin(TenantScopedAdmin):
    """Only owners (and superusers) manage who works in a store."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS) and current_tenant_id() is not None

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)


@admin.register(Membership)
class MembershipAdmin(MembersAdmin):
    form = MembershipForm
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user"]


@admin.register(TenantDomain)
class TenantDomainAdmin(MembersAdmin):
    form = TenantDomainForm
    list_display = ["domain", "verified", "challenge"]
    readonly_fields = ["verified", "challenge"]
    actions = ["verify"]

    @admin.display(description="verified", boolean=True)
    def verified(self, obj: TenantDomain) -> bool:
        return obj.verified_at is not None

    @admin.display(description="DNS TXT record that proves control")
    def challenge(self, obj: TenantDomain) -> str:
        if not obj.pk:
            return "shown once saved"
        name, value = challenge_record(obj)
        return f"{name}  TXT  {value}"

    @admin.action(description="Verify by DNS (the TXT record must be published)", permissions=["change"])
    def verify(self, request: HttpRequest, queryset: QuerySet[TenantDomain]) -> None:
        for domain in queryset:
            if tenant_domain_verify(domain=domain):
                self.message_user(request, f"{domain.domain} is verified: the storefront answers on it.")
            else:
                name, value = challenge_record(domain)
                self.message_user(
                    request,
                    f"{domain.domain} is not verified: no TXT record {name} with the value {value} was found.",
                    level=messages.WARNING,
                )


@admin.register(TrainingRun)
class TrainingRunAdmin(TenantScopedAdmin):
    list_display = ["step", "status", "trigger", "started_at", "finished_at", "summary"]
    list_filter = ["step", "status", "trigger"]
    readonly_fields = ["step", "status", "trigger", "started_at", "finished_at", "summary"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
