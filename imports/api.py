"""Upload endpoints of the partner API: POST /api/v1/imports/ (multipart, one file field per kind) and the
job's progress and outcome at /api/v1/imports/<id>/ (scopes imports:write / imports:read)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from retailsite.api.exceptions import InvalidInput
from retailsite.api.scopes import Scope
from retailsite.api.views.base import TenantApiView, TenantListApiView

from .models import ImportJob
from .services import UploadRefused, import_job_create, import_job_progress

TAG = "imports"


class ImportJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    files = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    summary = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(  # type: ignore[assignment]  # declared fields leave the class (DRF metaclass)
        child=serializers.CharField(), help_text="file:line: column: message"
    )
    error_total = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_files(self, job: ImportJob) -> dict[str, str]:
        return {kind: meta["name"] for kind, meta in job.files.items()}

    def get_progress(self, job: ImportJob) -> dict[str, Any] | None:
        return import_job_progress(job)


def _job(job_id: str) -> ImportJob:
    job = ImportJob.objects.filter(pk=int(job_id)).first() if job_id.isascii() and job_id.isdigit() else None
    if job is None or len(job_id) > 18:
        raise NotFound(f"No import with id {job_id!r} in this store.")
    return job


class ImportListApi(TenantListApiView):
    scope_map = {"GET": Scope.IMPORTS_READ, "POST": Scope.IMPORTS_WRITE}
    parser_classes = [MultiPartParser]

    @extend_schema(tags=[TAG], summary="Upload jobs, newest first", responses=ImportJobOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return self.paginated(ImportJob.objects.order_by("-created_at", "-id"), ImportJobOutputSerializer)

    @extend_schema(
        tags=[TAG],
        summary="Upload CSV files (a form field per kind: customers, products, orders, ...); run in the background",
        request={"multipart/form-data": OpenApiTypes.OBJECT},
        responses={202: ImportJobOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        files = {kind: (upload.name, upload, upload.size) for kind, upload in request.FILES.items()}
        try:
            job = import_job_create(files=files, requested_by=self.principal.throttle_identity)
        except UploadRefused as refused:
            raise InvalidInput(refused.fields) from None
        return self.output(ImportJobOutputSerializer, job, status=202)


class ImportDetailApi(TenantApiView):
    scope_map = {"GET": Scope.IMPORTS_READ}

    @extend_schema(
        tags=[TAG], summary="An upload job: status, progress, summary or errors", responses=ImportJobOutputSerializer
    )
    def get(self, request: Request, job_id: str) -> Response:
        return self.output(ImportJobOutputSerializer, _job(job_id))
