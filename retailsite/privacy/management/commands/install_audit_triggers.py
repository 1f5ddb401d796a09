"""manage.py install_audit_triggers — (re)install the audit log's functions and triggers (also runs after migrate)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from retailsite.privacy.triggers import install_audit_triggers


class Command(BaseCommand):
    help = "Create the audit functions and give every tenant table its audit triggers (idempotent). Run as the owner."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = install_audit_triggers()
        for line in changed:
            self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS(f"Audit triggers in place ({len(changed)} table(s) changed)."))
