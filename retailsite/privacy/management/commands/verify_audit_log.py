"""manage.py verify_audit_log [--tenant SLUG] [--export-heads FILE] [--expect-head FILE] — check every store's
audit chain, report the first broken link, and compare with chain heads kept elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from retailsite.privacy.audit import KeptHead, audit_chain_verify, audit_tenant_ids_with_entries, kept_head_problem
from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import platform_context, tenant_context
from retailsite.tenancy.models import Tenant


def _read_heads(path: str) -> dict[int, KeptHead]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CommandError(f"Cannot read the kept heads {path!r}: {error.strerror}.") from error
    heads: dict[int, KeptHead] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            head = KeptHead.from_line(line)
        except (ValueError, KeyError, TypeError) as error:
            raise CommandError(
                f"{path}, line {number}: not a kept head (expected a JSON object with tenant_id, seq, hash "
                f"as written by --export-heads): {error}"
            ) from error
        heads[head.tenant_id] = head
    return heads


class Command(TenantCommand):
    help = (
        "Recompute the hash chain of the audit log, store by store. Exits non-zero at the first broken link "
        "(a changed, removed or reordered entry) and says which entry and what did not match. "
        "--export-heads writes each chain's head to a file to keep elsewhere; --expect-head checks that "
        "each chain still contains a head kept that way (which also catches entries removed from the end)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser, required=False, help="verify one store only")
        parser.add_argument("--export-heads", metavar="FILE", help="write every verified chain's head to FILE")
        parser.add_argument(
            "--expect-head", metavar="FILE", help="fail unless every chain contains the head kept in FILE"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = dict(Tenant.objects.values_list("pk", "slug"))
        expected = _read_heads(options["expect_head"]) if options["expect_head"] else {}
        if options["tenant"]:
            tenant_ids = [self.tenant(options).pk]
        else:
            with platform_context():
                tenant_ids = sorted(set(audit_tenant_ids_with_entries()) | set(expected))
        total = 0
        heads: list[KeptHead] = []
        for tenant_id in tenant_ids:
            kept = expected.get(tenant_id)
            with tenant_context(tenant_id):
                report = audit_chain_verify(tenant_id, remember_seqs=frozenset([kept.seq] if kept else []))
            name = slugs.get(tenant_id, f"deleted store {tenant_id}")
            if not report.ok:
                raise CommandError(f"BROKEN audit chain of {name}: {report.broken}")
            if kept is not None:
                problem = kept_head_problem(report, kept)
                if problem is not None:
                    raise CommandError(f"BROKEN audit chain of {name}: {problem}")
            total += report.entries
            heads.append(KeptHead(tenant_id, report.entries, report.head_hash))
            self.stdout.write(f"{name}: {report.entries} entries, chain intact, head {report.head_hash}")
        if options["export_heads"]:
            Path(options["export_heads"]).write_text("".join(head.as_line() + "\n" for head in heads), "utf-8")
            self.stdout.write(
                f"Heads written to {options['export_heads']}: keep the file where this database's users cannot write."
            )
        self.stdout.write(self.style.SUCCESS(f"OK: {len(tenant_ids)} store(s), {total} entries verified."))
