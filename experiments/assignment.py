"""The serving hook: which arm a shopper is in, recorded as an exposure (registered in apps.ready).

Assignment is a hash of the experiment's salt and the subject's key — the customer when known, else the
visitor's session — so it is sticky and reproducible with no state read per request; the one write is
the exposure row (one upsert per served list), which the results need as their denominator.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from recommendations.arms import ServingArm
from retailsite.tenancy.context import require_tenant_id

from .engine import assign_one
from .models import Experiment
from .selectors import running_experiment

_EXPOSURE_UPSERT_SQL = """
INSERT INTO experiments_exposure
       (tenant_id, experiment_id, arm_id, subject_key, customer_id, session_id, first_at, last_at, impressions)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1)
ON CONFLICT (tenant_id, experiment_id, subject_key)
DO UPDATE SET last_at = EXCLUDED.last_at, impressions = experiments_exposure.impressions + 1
"""


def subject_key(customer_id: int | None, session_id: str) -> str | None:
    if customer_id is not None:
        return f"c:{customer_id}"
    if session_id:
        return f"s:{session_id[:100]}"
    return None


def serving_arm(customer_id: int | None, session_id: str) -> ServingArm | None:
    running = running_experiment()
    if running is None:
        return None
    key = subject_key(customer_id, session_id)
    if key is None:
        return None
    arm = running.arms[assign_one(running.salt, key, running.shares)]
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _EXPOSURE_UPSERT_SQL,
            [
                require_tenant_id(),
                running.id,
                arm.id,
                key,
                customer_id,
                "" if customer_id else session_id[:100],
                now,
                now,
            ],
        )
    return ServingArm(
        label=f"e{running.id}{arm.key}",
        model_version_id=arm.model_version_id,
        max_per_category=arm.max_per_category,
        exclude_purchased=arm.exclude_purchased,
    )


def versions_in_running_experiments() -> set[int]:
    """Model versions arms of running experiments serve: training must not prune their lists."""
    return set(
        Experiment.objects.filter(status=Experiment.Status.RUNNING, arms__model_version__isnull=False).values_list(
            "arms__model_version_id", flat=True
        )
    )
