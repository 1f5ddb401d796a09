from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from retailsite.tenancy.admin_base import TenantScopedAdmin

from .models import PublishableKey
from .services import PublishableKeyError, clean_origin, new_publishable_key, publishable_key_revoke


class PublishableKeyForm(forms.ModelForm):
    origins = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="one origin per line, e.g. https://shop.example.com"
    )

    class Meta:
        model = PublishableKey
        fields = ["name"]

    def clean_origins(self) -> list[str]:
        try:
            return sorted({clean_origin(line) for line in self.cleaned_data["origins"].splitlines() if line.strip()})
        except PublishableKeyError as error:
            raise forms.ValidationError(str(error)) from None


@admin.register(PublishableKey)
class PublishableKeyAdmin(TenantScopedAdmin):
    form = PublishableKeyForm
    list_display = ["name", "key", "origin_list", "is_active", "created_at"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.display(description="allowed origins")
    def origin_list(self, obj: PublishableKey) -> str:
        return ", ".join(obj.allowed_origins)

    def save_model(self, request: HttpRequest, obj: PublishableKey, form: Any, change: bool) -> None:
        obj.allowed_origins = form.cleaned_data["origins"]
        obj.key = obj.key or new_publishable_key()
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PublishableKey]) -> None:
        for key in queryset:
            publishable_key_revoke(key=key)
        self.message_user(request, "Revoked.", messages.SUCCESS)
