from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from .admin_base import TenantScopedAdmin, request_can
from .context import current_tenant_id, require_tenant_id
from .domains import challenge_record, tenant_domain_verify
from .forms import InvitationForm, MembershipForm, TenantDomainForm, TenantForm
from .models import Invitation, Membership, Tenant, TenantDomain, TrainingRun
from .permissions import Capability
from .services import invitation_create, invitation_revoke, membership_set

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
    """Owners change their members' roles and remove members; they add someone by inviting them (InvitationAdmin).
    Only a platform superuser adds a membership directly (with a store selected)."""

    form = MembershipForm
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser and current_tenant_id() is not None

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        saved = membership_set(tenant=require_tenant_id(), user=obj.user, role=obj.role)
        obj.pk, obj.tenant_id = saved.pk, saved.tenant_id


INVITATION_RECORDED = (
    "Invitation recorded for {invitee} as {role}. If an account matches, its user sees the invitation when signed "
    "in and becomes a member only by accepting it before {expires}."
)


@admin.register(Invitation)
class InvitationAdmin(MembersAdmin):
    """Owners invite staff by username or e-mail address. Every invitation gets the same answer, whatever the
    platform knows about the invitee, and stays listed here with its status."""

    form = InvitationForm
    list_display = ["invitee", "role", "status", "open_until", "created_at", "invited_by", "responded_at"]
    list_filter = ["status", "role"]
    list_select_related = ["invited_by"]
    readonly_fields = ["status", "created_at", "expires_at", "invited_by", "responded_at"]
    actions = ["revoke"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # an invitation is answered or revoked, never edited

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # kept, with its outcome

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    @admin.display(description="open until")
    def open_until(self, invitation: Invitation) -> str:
        if invitation.status != Invitation.Status.PENDING:
            return "-"
        if invitation.expires_at <= timezone.now():
            return "expired"
        return f"{timezone.localtime(invitation.expires_at):%Y-%m-%d %H:%M}"

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        saved = invitation_create(
            invitee=form.cleaned_data["invitee"], role=form.cleaned_data["role"], invited_by=request.user
        )
        obj.pk, obj.tenant_id, obj.expires_at = saved.pk, saved.tenant_id, saved.expires_at

    def response_add(self, request: HttpRequest, obj: Invitation, post_url_continue: str | None = None) -> HttpResponse:
        expires = f"{timezone.localtime(obj.expires_at):%Y-%m-%d %H:%M}"
        self.message_user(
            request,
            INVITATION_RECORDED.format(invitee=obj.invitee, role=obj.get_role_display(), expires=expires),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:tenancy_invitation_changelist"))

    @admin.action(description="Revoke the selected pending invitations", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        revoked = sum(invitation_revoke(invitation=invitation) for invitation in queryset)
        self.message_user(request, f"Revoked {revoked} pending invitation(s).", messages.SUCCESS)


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
