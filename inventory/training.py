"""The "inventory" training step: recompute the reorder plan (chained after each forecast run, or run by hand).

Declared in `inventory/steps.py`; `manage.py train --tenant SLUG --only inventory` and the Celery chain after
the "forecasts" step run it through `retailsite.tenancy.training_steps.training_step_run` (tenant context, lock, a
TrainingRun row).
"""

from __future__ import annotations

from retailsite.tenancy.models import Tenant
from retailsite.tenancy.training_steps import Progress

from .models import ReorderPlan
from .planning import NothingToPlan, reorder_plan_create
from .selectors import active_plan


class ReorderPlanFailed(RuntimeError):
    """The new plan failed (its explanation is stored on it); the previously active plan still serves."""


def plan_summary(plan: ReorderPlan) -> str:
    """One line for the operator: what the plan orders, within which limits, and what it saves in simulation."""
    text = (
        f"plan {plan.pk} active: {plan.n_to_order:,} of {plan.n_products:,} products to order, "
        f"value {plan.order_value:,.2f}"
    )
    if plan.budget is not None:
        text += f" (budget {plan.budget:,.2f})"
    if plan.solver_status and plan.solver_status != "not_needed":
        text += f", optimized under the limits ({plan.solver_status})"
    plan_cost, naive_cost = plan.simulated("plan", "total_cost"), plan.simulated("naive", "total_cost")
    if plan_cost is not None and naive_cost is not None:
        text += f"; simulated cost {plan_cost:,.0f} vs {naive_cost:,.0f} for the naive rule"
        if naive_cost > 0:
            text += f" ({1 - plan_cost / naive_cost:+.0%} saved)"
    if plan.skipped:
        text += f"; {len(plan.skipped)} stocked products skipped (see the plan)"
    return text


def run_inventory_step(tenant: Tenant, progress: Progress) -> str:
    try:
        plan = reorder_plan_create(tenant=tenant, progress=progress)
    except NothingToPlan as reason:
        return f"nothing to plan: {reason}"
    if plan.status == ReorderPlan.Status.FAILED:
        serving = active_plan()
        still = f"Plan {serving.pk} stays active." if serving is not None else "No plan is active yet."
        raise ReorderPlanFailed(f"plan {plan.pk} failed: {plan.error} {still}")
    return plan_summary(plan)
