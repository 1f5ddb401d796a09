"""The demo store's running experiment, so its results page shows data from the first visit.

Shoppers are served through the real serving path (which assigns their arm and records the exposure);
their clicks, add-to-carts and purchases are then simulated (seeded) and stored through the same event
service the API uses, citing the arm-naming recommendation ids. The diverse arm is given a 15% higher
response rate: a planted, documented difference, so the page has something to find.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recommendations.serving import Filters, recommend_for_customer, serving_request
from retailsite.commerce.models import Customer
from retailsite.commerce.services import events_ingest

from .models import Experiment
from .services import ArmSpec, experiment_create, experiment_start

if TYPE_CHECKING:
    from retailsite.tenancy.models import Tenant

DEMO_EXPERIMENT_NAME = "Diversity cap on 'Recommended for you'"
RESPONSE_RATES = {"view": 0.12, "cart": 0.05, "purchase": 0.03}  # per exposed shopper, control arm
PLANTED_LIFT = {"control": 1.0, "diverse": 1.15}


def demo_experiment_step(*, tenant: Tenant, seed: int) -> list[str]:
    """seed_demo's step (registered in apps.py): one running experiment, so its results page shows data."""
    experiment = demo_experiment_run(seed=seed)
    if experiment is None:
        return []
    return [f"started experiment {experiment.name!r} with simulated shopper responses"]


def demo_experiment_run(*, seed: int, shoppers: int = 2000) -> Experiment | None:
    """Start the demo experiment and simulate `shoppers` shoppers' responses; None if the store has one already."""
    if Experiment.objects.exists():
        return None
    experiment = experiment_start(
        experiment=experiment_create(
            name=DEMO_EXPERIMENT_NAME,
            description="At most two items per category in the diverse arm; the control keeps the store's setting.",
            arms=[ArmSpec("control", 50, True), ArmSpec("diverse", 50, False, max_per_category=2)],
        )
    )
    rng = np.random.default_rng(seed)
    customers = list(
        Customer.objects.filter(personalization_consent=True).order_by("id").values_list("id", "external_id")[:shoppers]
    )
    events = []
    # One serving memo for the whole simulation: what the shoppers' lists share (the store's popular products
    # before any training, the settings, the catalog) is read once, not once per shopper.
    with serving_request():
        served_lists = [
            (external_id, recommend_for_customer(customer_id=customer_id, filters=Filters(k=8)))
            for customer_id, external_id in customers
        ]
    for external_id, served in served_lists:
        if not served.items:
            continue
        arm = served.recommendation_id.split("-")[1].removeprefix(f"e{experiment.pk}")
        for event_type, rate in RESPONSE_RATES.items():
            if rng.random() < rate * PLANTED_LIFT.get(arm, 1.0):
                item = served.items[int(rng.integers(len(served.items)))]
                events.append(
                    {
                        "customer_external_id": external_id,
                        "product_external_id": item.external_id,
                        "event_type": event_type,
                        "recommendation_id": served.recommendation_id,
                    }
                )
    for start in range(0, len(events), 500):
        events_ingest(events=events[start : start + 500], path="demo")
    return experiment
