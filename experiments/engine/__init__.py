"""The experiments engine: assignment by hash and the statistics of online tests. No Django.

arms = assign(salt, subject_keys, shares)                 # sticky, reproducible, no state per request
low, high = wilson_interval(successes, trials)            # per-arm rate intervals
n = planned_sample_size(baseline=0.05, relative_effect=0.10, alpha=0.05, power=0.8)
p = always_valid_p_values(conv_a, n_a, conv_b, n_b, tau=...)  # mSPRT; peeking at every look is allowed
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from experiments.engine.assignment import assign, assign_one, unit_interval
    from experiments.engine.stats import (
        TestPlan,
        always_valid_p_values,
        msprt_boundary_z,
        plan_test,
        planned_sample_size,
        simulate_sequential,
        wilson_interval,
    )

# Each name from the module that defines it, imported on first use: serving needs only `assign_one` (no numpy),
# and the experiments app is loaded by every manage.py command.
_MODULE_OF = {
    "assign": "assignment",
    "assign_one": "assignment",
    "unit_interval": "assignment",
    "TestPlan": "stats",
    "always_valid_p_values": "stats",
    "msprt_boundary_z": "stats",
    "plan_test": "stats",
    "planned_sample_size": "stats",
    "simulate_sequential": "stats",
    "wilson_interval": "stats",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULE_OF[name]}"), name)


__all__ = [
    "TestPlan",
    "always_valid_p_values",
    "assign",
    "assign_one",
    "msprt_boundary_z",
    "plan_test",
    "planned_sample_size",
    "simulate_sequential",
    "unit_interval",
    "wilson_interval",
]
