"""manage.py export_recommendations — every customer's list from the active model, as served by the API."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from recommendations import serving
from recommendations.arms import without_experiments
from retailsite.commerce.models import Customer
from retailsite.csv_safety import spreadsheet_safe
from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import tenant_context

HEADER = ["customer_id", "rank", "product_id", "score", "reason"]


class Command(TenantCommand):
    help = "Write CSV customer_id,rank,product_id,score,reason for every customer (or those listed)."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--output", required=True)
        parser.add_argument("--customers", help="a file with one customer id per line")
        parser.add_argument("--include-purchased", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        k = options["k"]
        if not 1 <= k <= serving.MAX_K:
            raise CommandError(f"--k must be between 1 and {serving.MAX_K}.")
        filters = serving.Filters(k=k, include_purchased=True if options["include_purchased"] else None)
        with tenant_context(tenant), without_experiments():
            customers = Customer.objects.order_by("external_id")
            if options["customers"]:
                wanted = _read_ids(Path(options["customers"]))
                found = {c.external_id: c for c in customers.filter(external_id__in=wanted)}
                missing = [cid for cid in wanted if cid not in found]
                if missing:
                    raise CommandError(f"Unknown customer ids in {options['customers']}: {', '.join(missing[:20])}")
                selected = [found[cid] for cid in wanted]
            else:
                selected = list(customers)
            written = 0
            with open(options["output"], "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(HEADER)
                for index, customer in enumerate(selected, start=1):
                    served = serving.recommend_for_customer(
                        customer_id=customer.id, filters=filters, personalized=customer.personalization_consent
                    )
                    for rank, item in enumerate(served.items, start=1):
                        writer.writerow(
                            # Ids are the store's own text: never a live spreadsheet formula.
                            [
                                spreadsheet_safe(customer.external_id),
                                rank,
                                spreadsheet_safe(item.external_id),
                                f"{item.score:.6f}",
                                item.reason,
                            ]
                        )
                        written += 1
                    if index % 1000 == 0:
                        self.stderr.write(f"\r  {index}/{len(selected)} customers", ending="")
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {written} rows for {len(selected)} customers to {options['output']}.")
        )


def _read_ids(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"Cannot read {path}: {error}") from None
    return list(dict.fromkeys(line.strip() for line in lines if line.strip() and line.strip() != "customer_id"))
