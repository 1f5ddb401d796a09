"""manage.py train --tenant SLUG [--only STEP] — run a store's training synchronously, with progress."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandError, CommandParser

from retailsite.tenancy.commands import TenantCommand
from retailsite.tenancy.training_steps import StepAlreadyRunning, training_step_run, training_steps


class Command(TenantCommand):
    help = "Train a store's models now (recommendations, forecasts, inventory), showing progress."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser)
        parser.add_argument("--only", choices=[step.name for step in training_steps()], help="run only this step")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options)
        steps = [s for s in training_steps() if options["only"] in (None, s.name)]
        if not steps:
            wanted = options["only"] or "any step"
            self.stdout.write(f"Nothing to train for {wanted}: no training step is installed yet.")
            return
        for step in steps:
            self.stdout.write(f"== {step.name} ({tenant.slug})")
            started = time.monotonic()
            try:
                run = training_step_run(tenant=tenant, step_name=step.name, progress=self._progress)
            except StepAlreadyRunning as busy:
                raise CommandError(str(busy)) from None
            except Exception as error:  # shown to the operator; the active version stays
                self.stderr.write("")
                raise CommandError(
                    f"{step.name} failed: {error}. The previously active version is unchanged."
                ) from error
            self.stdout.write(self.style.SUCCESS(f"   {run.summary} ({time.monotonic() - started:.1f}s)"))

    def _progress(self, message: str, done: int | None = None, total: int | None = None) -> None:
        if done is not None and total:
            width = 30
            filled = int(width * min(done, total) / total)
            self.stderr.write(f"\r   {message:<40} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
            if done >= total:
                self.stderr.write("")
        else:
            self.stderr.write(f"   {message}")
