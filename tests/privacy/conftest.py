"""Helpers for the privacy tests: sealing the audit queue inside the test transaction, reading the
log as the platform, and acting as the owning role for a moment (to tamper, as an attacker with
database access would)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection

from retailsite.privacy.models import AuditLogEntry
from retailsite.tenancy.context import platform_context
from retailsite.tenancy.models import Tenant


def seal_audit_log() -> None:
    """Run the commit-time sealing now: pytest's transaction is rolled back, never committed."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS privacy_audit_seal IMMEDIATE")
        cursor.execute("SET CONSTRAINTS privacy_audit_seal DEFERRED")


def audit_entries(tenant: Tenant, **filters: Any) -> list[AuditLogEntry]:
    seal_audit_log()
    with platform_context():
        return list(AuditLogEntry.objects.filter(tenant=tenant, **filters).order_by("seq"))


def raw(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


@contextmanager
def as_table_owner() -> Iterator[None]:
    """The login role (which owns the tables in the test database) for the enclosed statements."""
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{settings.DB_APP_ROLE}"')


def text_of_every_table_containing(needle: str) -> dict[str, int]:
    """Rows, per table of the schema, whose text representation contains `needle` (case-insensitive),
    read as the application role in platform scope: every store's rows."""
    found: dict[str, int] = {}
    seal_audit_log()
    with platform_context():
        tables = [
            row[0]
            for row in raw(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                "AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        for table in tables:
            ((count,),) = raw(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE %s', [f"%{needle}%"])
            if count:
                found[table] = count
    return found
