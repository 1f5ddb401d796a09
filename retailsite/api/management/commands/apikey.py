"""manage.py apikey create|list|revoke — a store's partner API keys from the command line.

apikey create --tenant SLUG --name NAME --scopes S1,S2   prints the new key once
apikey list --tenant SLUG                                 never prints secrets
apikey revoke --tenant SLUG PREFIX_OR_ID
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

from ...scopes import ALL_SCOPES, UnknownScope
from ...selectors import api_key_get, api_key_list
from ...services import api_key_create, api_key_revoke


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


class Command(TenantCommand):
    help = "Create, list and revoke a store's partner API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        create = sub.add_parser("create", help="issue a key and print it once", called_from_command_line=True)
        self.add_tenant_argument(create)
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scopes", required=True, metavar="S1,S2", help=f"comma-separated; valid: {', '.join(ALL_SCOPES)}"
        )
        listing = sub.add_parser("list", help="list keys (never their secrets)", called_from_command_line=True)
        self.add_tenant_argument(listing)
        revoke = sub.add_parser("revoke", help="revoke a key by prefix or id", called_from_command_line=True)
        self.add_tenant_argument(revoke)
        revoke.add_argument("key", metavar="PREFIX_OR_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        with tenant_context(tenant), transaction.atomic():
            getattr(self, f"_{options['action']}")(tenant, options)

    def _create(self, tenant: Tenant, options: dict[str, Any]) -> None:
        try:
            issued = api_key_create(name=options["name"], scopes=options["scopes"].split(","))
        except UnknownScope as error:
            raise CommandError(str(error)) from None
        except ValueError as error:
            raise CommandError(str(error)) from None
        key = issued.api_key
        self.stderr.write(
            f"Created API key {key.prefix} ({key.name}) for {tenant.slug} with scopes "
            f"{', '.join(key.scopes)}.\nCopy the key below now: it is stored only as a digest "
            "and cannot be shown again."
        )
        self.stdout.write(issued.raw_key)

    def _list(self, tenant: Tenant, options: dict[str, Any]) -> None:
        keys = list(api_key_list())
        if not keys:
            self.stdout.write(f"{tenant.slug} has no API keys.")
            return
        self.stdout.write("id\tprefix\tname\tstatus\tcreated\tlast used\tscopes")
        for key in keys:
            status = f"revoked {_when(key.revoked_at)}" if key.is_revoked else "active"
            self.stdout.write(
                f"{key.pk}\t{key.prefix}\t{key.name}\t{status}\t{_when(key.created_at)}\t"
                f"{_when(key.last_used_at)}\t{','.join(key.scopes)}"
            )

    def _revoke(self, tenant: Tenant, options: dict[str, Any]) -> None:
        key = api_key_get(prefix_or_id=options["key"])
        if key is None:
            raise CommandError(
                f"{tenant.slug} has no API key {options['key']!r} (give its prefix or id; see `apikey list`)."
            )
        if key.is_revoked:
            self.stdout.write(f"API key {key.prefix} ({key.name}) was already revoked.")
            return
        api_key_revoke(api_key=key)
        self.stdout.write(self.style.SUCCESS(f"Revoked API key {key.prefix} ({key.name}) of {tenant.slug}."))
