from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html_join

from retailsite.commerce.importers.registry import kind_names
from retailsite.tenancy.admin_base import TenantScopedAdmin

from .models import ImportJob
from .services import UploadRefused, import_job_create, import_job_progress


class UploadForm(forms.ModelForm):
    """One optional file field per importer kind (customers, products, stock, orders, events, social)."""

    class Meta:
        model = ImportJob
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kind_names():
            self.fields[kind] = forms.FileField(required=False, label=f"{kind} CSV")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(kind) for kind in kind_names()):
            raise forms.ValidationError("Choose at least one CSV file.")
        return data


@admin.register(ImportJob)
class ImportJobAdmin(TenantScopedAdmin):
    list_display = ["id", "status", "file_names", "requested_by", "created_at", "finished_at", "error_total"]
    list_filter = ["status"]
    readonly_fields = [
        "status",
        "file_names",
        "progress",
        "summary_lines",
        "error_lines",
        "error_total",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            return UploadForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return list(kind_names()) if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a job is read-only once uploaded

    @admin.display(description="files")
    def file_names(self, obj: ImportJob) -> str:
        return ", ".join(f"{kind}: {meta['name']}" for kind, meta in obj.files.items())

    @admin.display(description="progress")
    def progress(self, obj: ImportJob) -> str:
        state = import_job_progress(obj)
        if not state:
            return "—"
        total = f" of ~{state['total']:,}" if state.get("total") else ""
        return f"{state['phase']}: {state['done']:,}{total} rows"

    @admin.display(description="summary")
    def summary_lines(self, obj: ImportJob) -> str:
        return format_html_join("", "<div>{}</div>", ((line,) for line in obj.summary)) or "—"

    @admin.display(description="errors (nothing was written)")
    def error_lines(self, obj: ImportJob) -> str:
        return format_html_join("", "<div><code>{}</code></div>", ((line,) for line in obj.errors)) or "—"

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if request.method == "POST" and self.has_add_permission(request):
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                files = {
                    kind: (upload.name, upload, upload.size)
                    for kind in kind_names()
                    if (upload := form.cleaned_data.get(kind))
                }
                try:
                    with transaction.atomic():
                        job = import_job_create(files=files, requested_by=request.user.get_username())
                except UploadRefused as refused:
                    self.message_user(request, str(refused), messages.ERROR)
                else:
                    self.message_user(
                        request, f"Upload {job.pk} queued; this page shows its progress and outcome.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:imports_importjob_change", args=[job.pk]))
        return super().add_view(request, form_url, extra_context)
