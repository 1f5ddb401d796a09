from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from retailsite.tenancy.admin_base import TenantScopedAdmin, request_can
from retailsite.tenancy.permissions import Capability

from .models import EventType, WebhookDelivery, WebhookEndpoint
from .services import new_secret, webhook_delivery_attempt
from .urls_check import UnsafeWebhookUrl, webhook_url_check


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="https URL receiving POSTed JSON")
    events = forms.MultipleChoiceField(
        choices=EventType.choices, required=False, widget=forms.CheckboxSelectMultiple, help_text="none ticked: all"
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            webhook_url_check(url)
        except UnsafeWebhookUrl as error:
            raise forms.ValidationError(str(error)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "event_list", "is_active", "created_at"]

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events) or "all"

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        if not change:
            obj.secret = new_secret()
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                f"Signing secret (shown once; verify every delivery with it): {obj.secret}",
                messages.WARNING,
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin):
    """The delivery log: every event sent, each attempt's outcome, and a button to retry now."""

    list_display = ["created_at", "event_type", "endpoint", "status", "attempts", "last_status_code", "delivered_at"]
    list_filter = ["status", "event_type"]
    readonly_fields = [
        "endpoint",
        "message_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request_can(request, Capability.CHANGE)

    @admin.action(description="Retry the selected deliveries now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        retried = 0
        for delivery in queryset:
            if delivery.status == WebhookDelivery.Status.FAILED:
                WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.RETRYING)
            if webhook_delivery_attempt(delivery_id=delivery.pk) is not None:
                retried += 1
        self.message_user(request, f"Attempted {retried} deliveries; see their status below.", messages.INFO)
