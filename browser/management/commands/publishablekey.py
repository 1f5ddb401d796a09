"""manage.py publishablekey create|list — a store's publishable keys (widget and beacon) from the command line.

publishablekey create --tenant SLUG --name NAME --origins https://shop.example.com[,ORIGIN...]   prints the key
publishablekey list --tenant SLUG

Revoking is in the admin (Browser integration > Publishable keys).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import tenant_context

from ...selectors import publishable_key_list
from ...services import PublishableKeyError, publishable_key_create


class Command(TenantCommand):
    help = "Create and list a store's publishable keys (for the browser beacon and widget)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        create = sub.add_parser(
            "create", help="issue a key bound to origins and print it", called_from_command_line=True
        )
        self.add_tenant_argument(create)
        create.add_argument("--name", required=True)
        create.add_argument(
            "--origins", required=True, metavar="ORIGIN,ORIGIN", help="the sites that embed it: scheme://host[:port]"
        )
        listing = sub.add_parser("list", help="list the store's publishable keys", called_from_command_line=True)
        self.add_tenant_argument(listing)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        with tenant_context(tenant), transaction.atomic():
            if options["action"] == "create":
                try:
                    key = publishable_key_create(name=options["name"], allowed_origins=options["origins"].split(","))
                except PublishableKeyError as error:
                    raise CommandError(str(error)) from None
                self.stderr.write(
                    f"Created publishable key {key.name!r} for {tenant.slug}, "
                    f"usable from {', '.join(key.allowed_origins)}."
                )
                self.stdout.write(key.key)  # public by design: it sits in the partner's pages
                return
            for key in publishable_key_list():
                status = "active" if key.is_active else "revoked"
                self.stdout.write(f"{key.key}\t{key.name}\t{status}\t{','.join(key.allowed_origins)}")
