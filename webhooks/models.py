"""Webhook subscriptions per store and the log of every delivery (Standard Webhooks signatures)."""

from __future__ import annotations

from django.db import models

from retailsite.encryption.fields import EncryptedTextField
from retailsite.tenancy.models import TenantOwnedModel


class EventType(models.TextChoices):
    MODEL_VERSION_ACTIVATED = "model_version.activated", "Model version activated"
    FORECAST_RUN_FINISHED = "forecast_run.finished", "Forecast run finished"
    REORDER_PLAN_READY = "reorder_plan.ready", "Reorder plan ready"
    IMPORT_FINISHED = "import.finished", "Import finished"
    EXPERIMENT_SIGNIFICANT = "experiment.significant", "Experiment significant"


class WebhookEndpoint(TenantOwnedModel):
    url = models.URLField(max_length=500, help_text="https URL receiving POSTed JSON")
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="event types to send; empty: all")
    # The Standard Webhooks signing secret ("whsec_" + base64), encrypted at rest; shown once to staff.
    secret = EncryptedTextField(editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and (not self.events or event_type in self.events)


class WebhookDelivery(TenantOwnedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=40, help_text="webhook-id: the same on every attempt")
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "endpoint", "message_id"], name="delivery_tenant_msg_uniq")
        ]
        indexes = [models.Index(fields=["tenant", "status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
