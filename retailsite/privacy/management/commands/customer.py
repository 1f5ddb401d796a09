"""manage.py customer export|erase — data-subject requests from the command line.

    manage.py customer export --tenant SLUG CUSTOMER_ID --output FILE
    manage.py customer erase --tenant SLUG CUSTOMER_ID [--yes | --no-input]

CUSTOMER_ID is the store's external id (as in the API and imports). Both are audited, with
the command as the actor.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from retailsite.commerce.models import Customer
from retailsite.privacy.services import customer_erasure_perform, customer_export_zip
from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import Actor, acting_as, tenant_context


class Command(TenantCommand):
    help = "Export everything held about a customer, or erase the customer."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
        export = sub.add_parser(
            "export", help="write the customer's data (zip: JSON and CSVs) to a file", called_from_command_line=True
        )
        erase = sub.add_parser("erase", help="erase the customer's personal data", called_from_command_line=True)
        for command in (export, erase):
            self.add_tenant_argument(command)
            command.add_argument("customer_id", metavar="CUSTOMER_ID", help="the customer's external id")
        export.add_argument("--output", required=True, metavar="FILE")
        erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        erase.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="never prompt (Django's convention); erases only with --yes",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        action = options["action"]
        with tenant_context(tenant), acting_as(Actor("system", f"command:customer-{action}")):
            customer = Customer.objects.filter(external_id=options["customer_id"]).first()
            if customer is None:
                raise CommandError(f"No customer {options['customer_id']!r} in {tenant.slug}.")
            if action == "export":
                output = Path(options["output"])
                output.write_bytes(customer_export_zip(customer))
                self.stdout.write(self.style.SUCCESS(f"Wrote {output} ({output.stat().st_size} bytes)."))
                return
            if not options["yes"]:
                if not options.get("interactive", True) or not sys.stdin.isatty():
                    raise CommandError(
                        "Not erased: erasure cannot be undone and there is no terminal to confirm it on. "
                        "Pass --yes to erase without asking."
                    )
                answer = input(
                    f"Erase customer {customer.external_id} of {tenant.slug}? This cannot be undone. Type 'yes': "
                )
                if answer.strip().lower() != "yes":
                    raise CommandError("Not erased.")
            record = customer_erasure_perform(customer=customer)
        removed = ", ".join(f"{label}: {count}" for label, count in record.removed.items()) or "nothing else"
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased; the record is now {record.pseudonym}. Removed: {removed}. "
                f"Retrain queued: {'yes' if record.retrain_queued else 'no (no recommendations step installed)'} "
                "(it runs after this, and its outcome does not change the erasure)."
            )
        )
