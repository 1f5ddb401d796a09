"""What the apps add to the demo store after `manage.py seed_demo` has loaded its data.

Commerce builds the store (customers, catalog, orders, events through the importer); an app that has something
to show on it (a running experiment, a widget key) registers a `DemoStep` from its AppConfig.ready(), so the
command names no app above the foundation. The step's function is named by dotted path and imported only when
the demo is seeded: registering stays light (`manage.py help` and web workers load no demo code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from retailsite.tenancy.models import Tenant

# (tenant=..., seed=...) -> lines for the command's report; runs in the tenant's context, after the import.
DemoStepFunction = Callable[..., list[str]]


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    run: str  # dotted path of the DemoStepFunction

    def function(self) -> DemoStepFunction:
        return import_string(self.run)


_STEPS: dict[str, DemoStep] = {}


def register_demo_step(step: DemoStep) -> None:
    if "." not in step.run:
        raise TypeError(f"Demo step {step.name!r}: `run` must be a dotted path, got {step.run!r}")
    _STEPS[step.name] = step


def demo_steps() -> list[DemoStep]:
    return sorted(_STEPS.values(), key=lambda step: step.order)


def demo_steps_run(*, tenant: Tenant, seed: int) -> list[str]:
    """Run every registered step on the freshly seeded store, in order; their report lines."""
    from retailsite.tenancy.context import tenant_context

    lines: list[str] = []
    with tenant_context(tenant):
        for step in demo_steps():
            lines.extend(step.function()(tenant=tenant, seed=seed))
    return lines
