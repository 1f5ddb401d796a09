"""manage.py verify_audit_log [--tenant SLUG] — check every store's audit chain, report the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from retailsite.privacy.audit import audit_chain_verify, audit_tenant_ids_with_entries
from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import platform_context, tenant_context
from retailsite.tenancy.models import Tenant


class Command(TenantCommand):
    help = (
        "Recompute the hash chain of the audit log, store by store. Exits non-zero at the first broken link "
        "(a changed, removed or reordered entry) and says which entry and what did not match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser, required=False, help="verify one store only")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = dict(Tenant.objects.values_list("pk", "slug"))
        if options["tenant"]:
            tenant_ids = [self.tenant(options).pk]
        else:
            with platform_context():
                tenant_ids = audit_tenant_ids_with_entries()
        total = 0
        for tenant_id in tenant_ids:
            with tenant_context(tenant_id):
                report = audit_chain_verify(tenant_id)
            name = slugs.get(tenant_id, f"deleted store {tenant_id}")
            if not report.ok:
                raise CommandError(f"BROKEN audit chain of {name}: {report.broken}")
            total += report.entries
            self.stdout.write(f"{name}: {report.entries} entries, chain intact, head {report.head_hash}")
        self.stdout.write(self.style.SUCCESS(f"OK: {len(tenant_ids)} store(s), {total} entries verified."))
