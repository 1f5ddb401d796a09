"""manage.py import_data --tenant SLUG [--customers F] [--products F] [--orders F] [--events F] [--social F]

Loads a store's history from CSV files: every file is checked first, and if any line is
bad the errors are listed (file:line: column: message) and nothing is imported.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from retailsite.commerce.importers import ImportFailed, import_store_data, registered_kinds
from retailsite.encryption.crypto import encryption_keys_require
from retailsite.tenancy.commands import TenantCommand

# Small files finish before a progress display would help.
PROGRESS_MIN_ROWS = 5_000


class ProgressDisplay:
    """Progress per phase of large files: tqdm bars on a terminal, otherwise a line at every 10%."""

    def __init__(self, stream: Any, *, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self.bars: dict[str, tqdm] = {}
        self.reported: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if total is not None and total < PROGRESS_MIN_ROWS and done < PROGRESS_MIN_ROWS:
            return
        if self.interactive:
            bar = self.bars.get(phase)
            if bar is None:
                bar = self.bars[phase] = tqdm(
                    total=total, desc=phase, unit=" rows", file=self.stream, unit_scale=True, leave=True
                )
            if total is not None and bar.total is not None and done > bar.total:
                bar.total = done
            bar.update(done - bar.n)
            return
        step = (10 * done // total) if total else 0
        if done == 0 or step > self.reported.get(phase, -1):
            self.reported[phase] = step
            of_total = f"/{total:,}" if total is not None else ""
            self.stream.write(f"{phase}: {done:,}{of_total} rows\n")
            self.stream.flush()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


class Command(TenantCommand):
    help = "Import a store's customers, products, orders, events and social graph from CSV files."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser, help="the store to import into")
        # One option per registered kind, so a kind added later (e.g. stock) gets its flag.
        for kind in registered_kinds():
            parser.add_argument(f"--{kind.name}", type=Path, metavar="FILE", help=f"{kind.name} CSV file")
        parser.add_argument("--no-progress", action="store_true", help="do not show progress")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["tenant"]
        try:
            encryption_keys_require()
        except ImproperlyConfigured as error:
            raise CommandError(f"{error} (docs/privacy.md, 'Keys'); nothing was written.") from None
        tenant = self.tenant(options, nothing_done="; nothing was imported")
        files = {kind.name: options[kind.name] for kind in registered_kinds() if options.get(kind.name)}
        if not files:
            flags = " ".join(f"--{kind.name} FILE" for kind in registered_kinds())
            raise CommandError(f"Nothing to import: give at least one of {flags}")
        show_progress = not options["no_progress"] and options["verbosity"] > 0
        display = ProgressDisplay(sys.stderr, interactive=sys.stderr.isatty()) if show_progress else None
        started = time.perf_counter()
        try:
            report = import_store_data(tenant=tenant, files=files, progress=display)
        except ImportFailed as failure:
            if display is not None:
                display.close()
            self.stderr.write(failure.describe())
            raise CommandError(
                f"Import into {slug!r} failed: {failure.total_errors} error(s) on "
                f"{failure.bad_lines} line(s); nothing was imported."
            ) from None
        if display is not None:
            display.close()
        elapsed = time.perf_counter() - started
        for line in report.summary_lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Imported into {slug!r} in {elapsed:.1f} s."))
