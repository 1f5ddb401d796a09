"""manage.py export_reorder_plan --tenant SLUG --output FILE — the active plan as CSV, one row per product:

    product_id,on_hand,on_order,reorder_point,order_up_to,order_quantity,expected_fill_rate

`product_id` is the product's external id; `on_order` counts units on order and in transit (the inventory position
is on_hand + on_order). `--output -` writes to standard output.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser

from inventory.models import ReorderPlan
from inventory.selectors import active_plan, plan_lines
from retailsite.csv_safety import spreadsheet_safe
from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import tenant_context

HEADER = ("product_id", "on_hand", "on_order", "reorder_point", "order_up_to", "order_quantity", "expected_fill_rate")


def _number(value: float, places: int) -> str:
    text = f"{value:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_plan_csv(plan: ReorderPlan, stream: TextIO) -> int:
    """Write the plan's lines (by product id) to `stream`; returns the number of rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    rows = 0
    for line in plan_lines(plan).order_by("product__external_id").iterator(chunk_size=2000):
        writer.writerow(
            [
                spreadsheet_safe(line.product.external_id),
                _number(line.on_hand, 0),
                _number(line.on_order + line.in_transit, 0),
                _number(line.reorder_point, 2),
                _number(line.order_up_to, 2),
                _number(line.order_quantity, 0),
                _number(line.expected_fill_rate, 4),
            ]
        )
        rows += 1
    return rows


class Command(TenantCommand):
    help = "Export a store's active reorder plan as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser)
        parser.add_argument("--output", required=True, metavar="FILE", help="CSV file to write ('-' = stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        with tenant_context(tenant):
            plan = active_plan()
            if plan is None:
                raise CommandError(
                    f"{tenant.slug!r} has no active reorder plan yet; run "
                    f"manage.py train --tenant {tenant.slug} --only inventory"
                )
            if options["output"] == "-":
                rows = write_plan_csv(plan, sys.stdout)
                return
            path = Path(options["output"])
            try:
                with path.open("w", encoding="utf-8", newline="") as stream:
                    rows = write_plan_csv(plan, stream)
            except OSError as error:
                raise CommandError(f"Cannot write {path}: {error.strerror or error}") from None
        self.stdout.write(self.style.SUCCESS(f"Wrote plan {plan.pk} ({rows:,} products) to {path}."))
