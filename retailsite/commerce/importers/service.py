"""import_store_data: validate a store's CSV files completely, then write them in one transaction."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.dispatch import Signal

from retailsite.commerce.catalog_version import catalog_changed
from retailsite.commerce.signals import customers_imported
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

from .csvsource import CsvSource
from .errors import ErrorLog, ImportFailed, ImportIssue
from .pg import PgSession, quote
from .registry import ImportReport, ImportRun, KindImporter, ProgressCallback, kind_names, registered_kinds

IMPORT_WORK_MEM = "128MB"


def import_store_data(
    *, tenant: Tenant, files: Mapping[str, Path | str], progress: ProgressCallback | None = None
) -> ImportReport:
    """Import any subset of a store's CSV files (keys: customers, products, orders, events, social, ...).

    Every file is read and checked first — formats, ranges, lengths, references between
    files and to the rows already stored. If anything is wrong, ImportFailed lists the
    problems (file, line, column, message; at most settings.IMPORT_MAX_REPORTED_ERRORS) and
    nothing is written. Otherwise every kind is upserted by external id in dependency order
    in one transaction, as `tenant`. Re-importing the same files changes nothing.

    `progress(phase, done_rows, total_rows)` is called while reading (phase = the kind, e.g.
    "orders"; total_rows counts physical lines, so it is an estimate) and while writing on
    PostgreSQL (phase = "writing orders" ...).
    """
    known = kind_names()
    unknown = sorted(set(files) - set(known))
    if unknown:
        raise ValueError(f"unknown import kind(s) {', '.join(unknown)}; known kinds are {', '.join(known)}")
    if tenant.pk is None:
        raise ValueError("import_store_data needs a saved tenant")
    errors = ErrorLog(settings.IMPORT_MAX_REPORTED_ERRORS)
    run = ImportRun(tenant=tenant, zone=zoneinfo.ZoneInfo(tenant.timezone), errors=errors, progress=progress)
    importers: list[KindImporter] = []
    try:
        with tenant_context(tenant):
            for kind in registered_kinds():
                if kind.name not in files:
                    continue
                path = Path(files[kind.name])
                importer = kind(run, CsvSource(path, name=str(path), spec=kind.columns, errors=errors))
                importers.append(importer)
                importer.validate()
            if errors:
                raise errors.failure()
            return _write(tenant, importers, progress)
    finally:
        for importer in importers:
            importer.close()


# Sent when an import has been written (in its transaction): kwargs tenant, report. Webhooks listen.
import_finished = Signal()


def _write(tenant: Tenant, importers: list[KindImporter], progress: ProgressCallback | None) -> ImportReport:
    report = ImportReport(tenant_slug=tenant.slug)
    current = importers[0] if importers else None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                session = PgSession(cursor, tenant.pk, progress)
                # Joins and aggregations over millions of staged rows stay in memory.
                session.execute(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
                for current in importers:
                    report.kinds[current.name] = current.write_postgresql(session)
                # Outer transactions (tests, callers) keep temp tables alive until they commit.
                for (name,) in session.fetchall(
                    "SELECT relname FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'import\\_%%' "
                    "AND pg_table_is_visible(oid)"
                ):
                    session.execute(f"DROP TABLE {quote(name)}")
            if any(importer.name in ("products", "categories") for importer in importers):
                catalog_changed(tenant.pk)  # catalog snapshots of serving reload after the commit
            if any(importer.name == "customers" for importer in importers):
                # A file may withdraw personalization consent: those customers' stored lists go at once.
                customers_imported.send(sender=ImportReport, tenant_id=tenant.pk)
            import_finished.send(sender=ImportReport, tenant=tenant, report=report)
    except ImportFailed:
        raise
    except DatabaseError as error:
        name = current.source.name if current is not None else ""
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ImportFailed([ImportIssue(name, 0, "", f"the database refused the import: {message}")]) from error
    return report
