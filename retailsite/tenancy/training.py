"""Registry of per-tenant training steps (recommendations, forecasts, inventory, ...).

Apps register a step in their AppConfig.ready(); `manage.py train` and the scheduled Celery
tasks run them. A step receives the tenant and a progress callback and returns a summary line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .models import Tenant


class Progress(Protocol):
    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None: ...


@dataclass(frozen=True)
class TrainingStep:
    name: str
    order: int
    run: Callable[[Tenant, Progress], str]
    description: str = ""


_STEPS: dict[str, TrainingStep] = {}


def register_training_step(step: TrainingStep) -> None:
    _STEPS[step.name] = step


def training_steps() -> list[TrainingStep]:
    return sorted(_STEPS.values(), key=lambda step: step.order)


def silent_progress(message: str, done: int | None = None, total: int | None = None) -> None:
    """A Progress that reports nothing (Celery tasks log instead)."""
