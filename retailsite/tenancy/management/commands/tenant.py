"""manage.py tenant create|set|show|list|member — manage stores, their settings, and (as the platform) members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retailsite.tenancy.commands import tenant_for_command
from retailsite.tenancy.models import Role, Tenant
from retailsite.tenancy.services import TenantError, membership_set, tenant_create, tenant_settings_set, tenant_update
from retailsite.tenancy.settings_registry import format_value, registered_settings


class Command(BaseCommand):
    help = "Create tenants and show or change their settings."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        create = sub.add_parser("create", help="create a tenant", called_from_command_line=True)
        create.add_argument("slug")
        create.add_argument("--name", required=True)
        create.add_argument("--currency", default="USD")
        create.add_argument("--timezone", default="UTC")
        update = sub.add_parser(
            "set", help="set KEY=VALUE settings (name, currency, timezone too)", called_from_command_line=True
        )
        update.add_argument("slug")
        update.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
        show = sub.add_parser("show", help="show a tenant and every setting", called_from_command_line=True)
        show.add_argument("slug")
        sub.add_parser("list", help="list tenants", called_from_command_line=True)
        member = sub.add_parser(
            "member",
            help="give an existing user a role in a store directly (the platform's way, e.g. a store's first owner; "
            "owners invite from the admin)",
            called_from_command_line=True,
        )
        member.add_argument("slug")
        member.add_argument("username")
        member.add_argument("role", choices=Role.values)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            for tenant in Tenant.objects.all():
                self.stdout.write(f"{tenant.slug}\t{tenant.name}\t{tenant.currency}\t{tenant.timezone}")
            return
        slug = options["slug"]
        try:
            if action == "create":
                tenant = tenant_create(
                    slug=slug, name=options["name"], currency=options["currency"], timezone=options["timezone"]
                )
                self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} ({tenant.name})."))
                return
            tenant = tenant_for_command(slug)
            if action == "member":
                user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
                if user is None:
                    raise CommandError(f"No active user {options['username']!r}; nothing was changed.")
                membership = membership_set(tenant=tenant, user=user, role=options["role"])
                self.stdout.write(f"{tenant.slug}: {user.get_username()} is {membership.get_role_display()}.")
                return
            if action == "set":
                core = {}
                rest = []
                for assignment in options["assignments"]:
                    key, _, value = assignment.partition("=")
                    if key in ("name", "currency", "timezone"):
                        core[key] = value
                    else:
                        rest.append(assignment)
                if core:
                    tenant_update(tenant=tenant, **core)
                changed = tenant_settings_set(tenant=tenant, assignments=rest) if rest else {}
                for key, value in {**core, **changed}.items():
                    self.stdout.write(f"{tenant.slug}: {key} = {format_value(value)}")
                return
            self._show(tenant)
        except TenantError as error:
            raise CommandError(str(error)) from None

    def _show(self, tenant: Tenant) -> None:
        self.stdout.write(
            f"slug      {tenant.slug}\nname      {tenant.name}\n"
            f"currency  {tenant.currency}\ntimezone  {tenant.timezone}\nactive    {tenant.is_active}"
        )
        group = None
        for key, setting in sorted(registered_settings().items(), key=lambda kv: (kv[1].group, kv[0])):
            if setting.group != group:
                group = setting.group
                self.stdout.write(f"\n[{group}]")
            value = tenant.settings.get(key, setting.default)
            marker = "" if key in tenant.settings else "  (default)"
            self.stdout.write(f"{key} = {format_value(value)}{marker}")
