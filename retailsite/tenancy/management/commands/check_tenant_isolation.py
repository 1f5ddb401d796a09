"""manage.py check_tenant_isolation — fail unless every tenant table is walled by RLS, and prove it by attack."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from retailsite.tenancy.context import platform_context
from retailsite.tenancy.rls import attack_the_wall, inspect_isolation


class Command(BaseCommand):
    help = (
        "List every table with a tenant_id column; fail unless RLS is enabled and forced on each, "
        "the application role cannot bypass it, and it holds UPDATE on no sequence. "
        "Then, connected as the application role, try the attacks "
        "a session of that role could make with SQL alone (open the platform scope with a setting, remove or "
        "forge audit entries, move a sequence) in a transaction that is rolled back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--app-role", default=settings.DB_APP_ROLE)

    def handle(self, *args: Any, **options: Any) -> None:
        tables, role = inspect_isolation(options["app_role"])
        if not tables:
            raise CommandError("No tenant tables found: run migrations first.")
        problems = []
        self.stdout.write(f"{'table':40} {'enabled':8} {'forced':7} {'policy':7} owner")
        for table in tables:
            self.stdout.write(
                f"{table.table:40} {table.rls_enabled!s:8} {table.rls_forced!s:7} {table.has_policy!s:7} {table.owner}"
            )
            if not table.ok:
                problems.append(
                    f"{table.table}: RLS enabled={table.rls_enabled} forced={table.rls_forced} "
                    f"policy={table.has_policy}"
                )
        if not role.exists:
            problems.append(f"application role {role.role!r} does not exist (run manage.py create_db_roles)")
        else:
            if role.superuser:
                problems.append(f"application role {role.role!r} is a superuser")
            if role.bypass_rls:
                problems.append(f"application role {role.role!r} has BYPASSRLS")
            if role.owns_tables:
                problems.append(f"application role {role.role!r} owns tables: {', '.join(role.owns_tables)}")
            if role.member_of:
                problems.append(f"application role {role.role!r} can act as {', '.join(role.member_of)}")
            if role.updatable_sequences:
                movable = ", ".join(role.updatable_sequences)
                problems.append(f"application role {role.role!r} may UPDATE (setval) sequences: {movable}")
        with platform_context(), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, tenancy_platform_scope()")
            current, platform_scope_works = cursor.fetchone()
        if not platform_scope_works:
            problems.append(
                "the database's scope key is not this process's (DATABASE_SCOPE_KEY, else derived from SECRET_KEY): "
                "platform-wide reads (API keys, domains, memberships) would see nothing. Run migrate with the "
                "settings the application runs with."
            )
        if current == role.role:
            for attack in attack_the_wall():
                problems.append(f"attack succeeded: {attack}")
            attacked = "; the attacks of its sessions failed"
        else:
            attacked = f" (attacks not tried: connected as {current!r}, not as the application role)"
        if problems:
            raise CommandError("Tenant isolation check failed:\n  " + "\n  ".join(problems))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(tables)} tenant tables isolated; role {role.role!r} cannot bypass row-level security{attacked}."
            )
        )
