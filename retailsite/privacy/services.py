"""Privacy operations: key rotation (export and erasure come with the privacy issue)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection, transaction

from retailsite.commerce.models import Customer
from retailsite.tenancy.context import platform_context, tenant_context
from retailsite.tenancy.models import Tenant

from .crypto import rotate

ENCRYPTED_CUSTOMER_FIELDS = ("email", "name", "phone", "address")


def encryption_keys_rotate(*, batch_size: int = 2000, progress: Callable[[str, int], None] | None = None) -> int:
    """Re-encrypt every customer's personal fields under the newest key, store by store,
    each store in one transaction. Returns the number of rows rewritten."""
    with platform_context():
        tenants = list(Tenant.objects.all())
    table = Customer._meta.db_table
    columns = ", ".join(ENCRYPTED_CUSTOMER_FIELDS)
    assignments = ", ".join(f"{field} = %s" for field in ENCRYPTED_CUSTOMER_FIELDS)
    rewritten = 0
    for tenant in tenants:
        with tenant_context(tenant), transaction.atomic(), connection.cursor() as cursor:
            # Raw SQL reads the stored tokens as they are; rotation never sees clear text it doesn't need.
            cursor.execute(f"SELECT id, {columns} FROM {table}")
            pending = [(*[rotate(value or "") for value in row[1:]], row[0]) for row in cursor.fetchall()]
            for start in range(0, len(pending), batch_size):
                cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s",
                                   pending[start:start + batch_size])
        rewritten += len(pending)
        if progress:
            progress(tenant.slug, len(pending))
    return rewritten
