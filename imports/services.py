"""Uploads: store the files, queue the job, run it through the one importer (`import_store_data`).

The job runs in a Celery task; the importer validates every file completely first and writes all or
nothing, so a refused upload writes nothing and lists the same file:line: column: message errors as
`manage.py import_data` (naming the uploaded file, not where it is stored). Progress is kept in the cache
while the job runs (the import's own transaction hides its rows until it commits).
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from retailsite.commerce.importers.errors import ImportFailed
from retailsite.commerce.importers.registry import kind_names
from retailsite.commerce.importers.service import import_store_data
from retailsite.safe_cache import cache_get, cache_set
from retailsite.tenancy.context import require_tenant_id
from retailsite.tenancy.models import Tenant

from .models import ImportJob

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
PROGRESS_KEY = "imports:progress:{job_id}"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRefused(ValueError):
    """An upload that cannot become a job; `fields` says which file and why."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))


def _upload_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def import_job_create(*, files: Mapping[str, tuple[str, IO[bytes], int]], requested_by: str = "") -> ImportJob:
    """`files`: kind -> (original name, stream, size). Stores them and queues the job once this commits."""
    problems: dict[str, list[str]] = {}
    known = kind_names()
    for kind, (_name, _stream, size) in files.items():
        if kind not in known:
            problems[kind] = [f"Unknown kind; upload files as one of: {', '.join(known)}."]
        elif size > MAX_UPLOAD_BYTES:
            problems[kind] = [f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; use import_data."]
    if not files:
        problems["files"] = [f"Upload at least one CSV file, as a form field named after its kind: {', '.join(known)}."]
    if problems:
        raise UploadRefused(problems)
    tenant_id = require_tenant_id()
    directory = _upload_root() / str(tenant_id) / uuid.uuid4().hex
    stored: dict[str, dict[str, str]] = {}
    for kind, (name, stream, _size) in files.items():
        safe = _SAFE_NAME.sub("_", Path(name or f"{kind}.csv").name)[:100] or f"{kind}.csv"
        target = directory / kind / safe
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            shutil.copyfileobj(stream, out)
        stored[kind] = {"name": safe, "path": str(target.relative_to(settings.MEDIA_ROOT))}
    job = ImportJob.objects.create(files=stored, requested_by=requested_by[:150])
    transaction.on_commit(lambda: _enqueue(tenant_id, job.pk))
    return job


def _enqueue(tenant_id: int, job_id: int) -> None:
    from .tasks import run_import_job

    run_import_job.delay(tenant_id, job_id)


def import_job_progress(job: ImportJob) -> dict[str, Any] | None:
    return cache_get(PROGRESS_KEY.format(job_id=job.pk)) if job.status == ImportJob.Status.RUNNING else None


def import_job_run(*, tenant: Tenant, job_id: int) -> ImportJob | None:
    """Run a queued job; None if it is not queued (already run, or being run)."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    paths = {kind: Path(settings.MEDIA_ROOT) / meta["path"] for kind, meta in job.files.items()}
    names = {str(paths[kind]): meta["name"] for kind, meta in job.files.items()}
    key, last = PROGRESS_KEY.format(job_id=job_id), [0.0]

    def progress(phase: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or (total is not None and done >= total):
            last[0] = now
            cache_set(key, {"phase": phase, "done": done, "total": total}, timeout=3600)

    try:
        report = import_store_data(tenant=tenant, files=paths, progress=progress)
    except ImportFailed as failure:
        job.status = ImportJob.Status.FAILED
        job.errors = [
            str(issue._replace(file=names.get(issue.file, Path(issue.file).name))) for issue in failure.errors
        ]
        if failure.unlisted_errors:
            job.errors.append(f"... and {failure.unlisted_errors} more error(s) not listed")
        job.error_total = failure.total_errors
    except ValueError as error:  # an unknown kind slipped through: say so, write nothing
        job.status, job.errors, job.error_total = ImportJob.Status.FAILED, [str(error)], 1
    else:
        job.status, job.summary = ImportJob.Status.SUCCEEDED, report.summary_lines()
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "errors", "error_total", "summary", "finished_at"])
    shutil.rmtree(next(iter(paths.values())).parent.parent, ignore_errors=True)  # the upload's own directory
    return job
