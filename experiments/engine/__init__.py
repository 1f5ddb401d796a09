"""The experiments engine: assignment by hash and the statistics of online tests. No Django.

arms = assign(salt, subject_keys, shares)                 # sticky, reproducible, no state per request
low, high = wilson_interval(successes, trials)            # per-arm rate intervals
n = planned_sample_size(baseline=0.05, relative_effect=0.10, alpha=0.05, power=0.8)
p = always_valid_p_values(conv_a, n_a, conv_b, n_b, tau=...)  # mSPRT; peeking at every look is allowed
"""

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
