"""The inventory training step, declared here (light) and run from `inventory.training` (heavy).

Not scheduled on its own: chained after "forecasts" (whose step lists then=("inventory",)), or run by hand.
"""

from retailsite.tenancy.training_steps import TrainingStep

INVENTORY_STEP = TrainingStep(
    "inventory",
    order=30,
    run="inventory.training.run_inventory_step",
    description="reorder plan from the latest forecast, under budget and capacity",
)
