"""manage.py create_db_roles — create the owning role and the application role (run as superuser)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from retailsite.tenancy.rls import create_roles


class Command(BaseCommand):
    help = (
        "Create the role that owns the tables and runs migrations, the application role the web "
        "app and workers use (not superuser, no BYPASSRLS, owns nothing), and the no-login platform role "
        "that owns the audit-sealing and platform-scope functions. Connect as a superuser."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner-role", default=settings.DB_OWNER_ROLE)
        parser.add_argument("--app-role", default=settings.DB_APP_ROLE)
        parser.add_argument(
            "--platform-role",
            default=settings.DB_PLATFORM_ROLE,
            help="no-login role owning the functions that may see every store (the app role never joins it)",
        )
        parser.add_argument("--owner-password", default=None)
        parser.add_argument("--app-password", default=None)
        parser.add_argument("--database", default=None, help="database to grant on (default: the connected one)")

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"] or connection.settings_dict["NAME"]
        for line in create_roles(
            owner_role=options["owner_role"],
            app_role=options["app_role"],
            platform_role=options["platform_role"],
            owner_password=options["owner_password"],
            app_password=options["app_password"],
            database=database,
        ):
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"Next: run migrations as {options['owner_role']}, serve as {options['app_role']}.")
        )
