"""manage.py export_forecasts --tenant SLUG --output FILE — the latest succeeded run's product forecasts as CSV.

Columns: product_id,period_start,p10,p50,p90,model. `--output -` writes to standard output. The file is written
next to its destination and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from forecasting.exports import forecast_export_csv
from forecasting.selectors import forecast_run_latest
from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.context import tenant_context


class Command(TenantCommand):
    help = "Write a store's latest demand forecasts as CSV: product_id,period_start,p10,p50,p90,model."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser)
        parser.add_argument("--output", required=True, metavar="FILE", help="CSV file to write ('-' for stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        with tenant_context(tenant):
            run = forecast_run_latest()
            if run is None:
                raise CommandError(
                    f"Store {tenant.slug!r} has no succeeded forecast run yet; run: "
                    f"manage.py train --tenant {tenant.slug} --only forecasts"
                )
            if options["output"] == "-":
                rows = forecast_export_csv(run=run, stream=sys.stdout)
            else:
                rows = self._write_file(Path(options["output"]), run)
        if options["output"] != "-":
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote {rows:,} rows (run {run.pk}, {run.horizon} x {run.frequency}) to {options['output']}"
                )
            )

    def _write_file(self, path: Path, run: Any) -> int:
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise CommandError(f"Cannot write {path}: directory {directory} does not exist")
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                rows = forecast_export_csv(run=run, stream=stream)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return rows
