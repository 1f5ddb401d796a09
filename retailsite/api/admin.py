"""API keys in the admin: owners list, create and revoke their store's keys.

A new key is shown once, in a message after creation; only its digest is stored, so it
cannot be shown again. Keys are revoked, never deleted, so their history stays visible.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest

from retailsite.tenancy.admin_base import TenantScopedAdmin, request_can
from retailsite.tenancy.permissions import Capability

from .models import ApiKey
from .scopes import ALL_SCOPES
from .services import api_key_create, api_key_revoke

DETAIL_FIELDS = ["name", "prefix", "scopes", "created_at", "created_by", "last_used_at", "revoked_at"]


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ALL_SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="customers:read and customers:write give access to personal data.",
    )

    class Meta:
        model = ApiKey
        fields = ["name"]


class ApiKeyChangeForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ["name", "prefix", "scope_list", "created_at", "created_by", "last_used_at", "status"]
    list_select_related = ["created_by"]
    search_fields = ["name", "prefix"]
    actions = ["revoke_selected"]

    # -- who may do what: only roles that manage members (owners) see or touch keys --------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS) and not self._in_platform_scope(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_can(request, Capability.MANAGE_MEMBERS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # -- forms -------------------------------------------------------------------------------------

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = ApiKeyChangeForm if obj is not None else ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return list(DETAIL_FIELDS) if obj is not None else ["name", "scopes"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field for field in DETAIL_FIELDS if field != "name"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=cast(AbstractBaseUser, request.user),
        )
        for field in ApiKey._meta.concrete_fields:  # the admin continues with the saved row
            setattr(obj, field.attname, getattr(issued.api_key, field.attname))
        messages.warning(
            request,
            f"New API key for {issued.api_key.name}: {issued.raw_key} — copy it now; "
            "it is stored only as a digest and will not be shown again.",
        )

    # -- list --------------------------------------------------------------------------------------

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="status")
    def status(self, obj: ApiKey) -> str:
        return "revoked" if obj.is_revoked else "active"

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset:
            if not api_key.is_revoked:
                api_key_revoke(api_key=api_key)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
