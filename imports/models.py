"""Uploaded CSV files waiting for, being run by, or done with the importer (one job per upload)."""

from __future__ import annotations

from django.db import models

from retailsite.tenancy.models import TenantOwnedModel


class ImportJob(TenantOwnedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (nothing written)"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # kind -> {"name": the uploaded file's name, "path": where it is stored under MEDIA_ROOT}
    files = models.JSONField(default=dict)
    requested_by = models.CharField(max_length=150, blank=True, help_text="staff user name or API key prefix")
    summary = models.JSONField(default=list, blank=True, help_text="per kind: rows created / updated")
    errors = models.JSONField(default=list, blank=True, help_text="file:line: column: message, as the importer says")
    error_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="importjob_tenant_created_idx")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"
