"""Read side of experiments: the running experiment (cached for serving) and the results per arm."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from retailsite.safe_cache import cache_get_recent
from retailsite.tenancy.context import require_tenant_id

from .models import Arm, Experiment

if TYPE_CHECKING:
    from .engine import TestPlan

# The engine (numpy) is imported by the functions that compute with it: serving asks only whether an experiment
# runs, and the admin, which every manage.py command loads, only names these functions.

RUNNING_CACHE_KEY = "experiments:running:{tenant_id}"
RUNNING_CACHE_SECONDS = 60
_NONE = 0


@dataclass(frozen=True)
class RunningArm:
    id: int
    key: str
    share: int
    model_version_id: int | None
    max_per_category: int | None
    exclude_purchased: bool | None


@dataclass(frozen=True)
class RunningExperiment:
    id: int
    salt: str
    arms: tuple[RunningArm, ...]

    @property
    def shares(self) -> list[int]:
        return [arm.share for arm in self.arms]


def running_cache_key(tenant_id: int) -> str:
    return RUNNING_CACHE_KEY.format(tenant_id=tenant_id)


def running_experiment() -> RunningExperiment | None:
    """The current store's running experiment, cached briefly (starting or stopping one clears it; in another
    process that shows here within `RECENT_SECONDS`)."""
    cached = cache_get_recent(
        running_cache_key(require_tenant_id()), _read_running_experiment, timeout=RUNNING_CACHE_SECONDS
    )
    return cached or None


def _read_running_experiment() -> RunningExperiment | int:
    experiment = Experiment.objects.filter(status=Experiment.Status.RUNNING).first()
    if experiment is None:
        return _NONE
    arms = Arm.objects.filter(experiment=experiment).order_by("id")
    return RunningExperiment(
        experiment.pk,
        experiment.salt,
        tuple(
            RunningArm(a.pk, a.key, a.share, a.model_version_id, a.max_per_category, a.exclude_purchased) for a in arms
        ),
    )


def running_experiment_exists() -> bool:
    return running_experiment() is not None


# -- results --------------------------------------------------------------------------------------------

# Events attributed to an arm: they cite one of its recommendation ids ("v12-e3b-<hex>"), were made by a
# subject exposed to it (the customer, or the visitor's session when anonymous), and happened between the
# subject's first exposure and the end of the attribution window after the last one. Two halves so each
# uses its own index (customer or session). Revenue: the order line the purchase came from, else the price.
_ATTRIBUTED_SQL = """
WITH x AS (
  SELECT x.id, x.arm_id, x.customer_id, x.session_id, x.first_at,
         x.last_at + make_interval(hours => %(window)s) AS until, 'e' || a.experiment_id || a.key AS label
    FROM experiments_exposure x JOIN experiments_arm a ON a.id = x.arm_id AND a.tenant_id = %(tenant)s
   WHERE x.tenant_id = %(tenant)s AND x.experiment_id = %(experiment)s
), ev AS (
  SELECT x.id AS exposure_id, x.arm_id, e.event_type, e.occurred_at, e.product_id, e.customer_id
    FROM x JOIN commerce_event e
      ON e.tenant_id = %(tenant)s AND e.customer_id = x.customer_id
     AND e.occurred_at >= x.first_at AND e.occurred_at <= x.until
     AND split_part(e.recommendation_id, '-', 2) = x.label
   WHERE x.customer_id IS NOT NULL
  UNION ALL
  SELECT x.id, x.arm_id, e.event_type, e.occurred_at, e.product_id, e.customer_id
    FROM x JOIN commerce_event e
      ON e.tenant_id = %(tenant)s AND e.session_id = x.session_id AND e.customer_id IS NULL
     AND e.occurred_at >= x.first_at AND e.occurred_at <= x.until
     AND split_part(e.recommendation_id, '-', 2) = x.label
   WHERE x.customer_id IS NULL AND x.session_id <> ''
)
"""

_PER_ARM_SQL = (
    _ATTRIBUTED_SQL
    + """
SELECT ev.arm_id,
       count(*) FILTER (WHERE ev.event_type = 'view'),
       count(DISTINCT ev.exposure_id) FILTER (WHERE ev.event_type = 'view'),
       count(*) FILTER (WHERE ev.event_type = 'cart'),
       count(DISTINCT ev.exposure_id) FILTER (WHERE ev.event_type = 'cart'),
       count(DISTINCT (ev.exposure_id, ev.occurred_at)) FILTER (WHERE ev.event_type = 'purchase'),
       count(DISTINCT ev.exposure_id) FILTER (WHERE ev.event_type = 'purchase'),
       coalesce(sum(coalesce(line.value, p.price)) FILTER (WHERE ev.event_type = 'purchase'), 0)
  FROM ev
  JOIN commerce_product p ON p.tenant_id = %(tenant)s AND p.id = ev.product_id
  LEFT JOIN LATERAL (
    SELECT sum(l.quantity * l.unit_price) AS value
      FROM commerce_order o JOIN commerce_orderline l ON l.order_id = o.id AND l.tenant_id = %(tenant)s
     WHERE o.tenant_id = %(tenant)s AND o.customer_id = ev.customer_id AND o.ordered_at = ev.occurred_at
       AND l.product_id = ev.product_id AND ev.event_type = 'purchase'
  ) line ON true
 GROUP BY ev.arm_id
"""
)

_DAILY_CONVERSIONS_SQL = (
    _ATTRIBUTED_SQL
    + """
SELECT arm_id, day, count(*) FROM (
  SELECT exposure_id, arm_id, (min(occurred_at) AT TIME ZONE 'UTC')::date AS day
    FROM ev WHERE event_type = 'purchase' GROUP BY exposure_id, arm_id
) first_purchase GROUP BY arm_id, day
"""
)

_EXPOSURE_SQL = """
SELECT arm_id, (first_at AT TIME ZONE 'UTC')::date, count(*), sum(impressions)
  FROM experiments_exposure WHERE tenant_id = %(tenant)s AND experiment_id = %(experiment)s
 GROUP BY 1, 2
"""


@dataclass
class ArmResult:
    arm: Arm
    exposed: int = 0  # distinct shoppers shown the arm's lists
    impressions: int = 0  # lists served
    clicks: int = 0  # product views from the arm's lists
    clickers: int = 0
    add_to_carts: int = 0
    carters: int = 0
    orders: int = 0
    converters: int = 0  # shoppers who bought from the arm's lists within the window
    revenue: Decimal = Decimal(0)
    click_through: float | None = None  # clickers / exposed
    click_through_ci: tuple[float, float] | None = None
    conversion: float | None = None  # converters / exposed
    conversion_ci: tuple[float, float] | None = None
    revenue_per_exposed: Decimal | None = None
    # Against the control (None for the control itself):
    lift: float | None = None  # relative difference of conversion
    p_value: float | None = None  # always valid (mSPRT): may be read at any time
    significant: bool = False


@dataclass
class ExperimentResults:
    experiment: Experiment
    plan: TestPlan
    arms: list[ArmResult]
    days: list[date] = field(default_factory=list)
    # Per arm key, one value per day (cumulative): exposed shoppers, conversion rate, p-value against control.
    cumulative_exposed: dict[str, list[int]] = field(default_factory=dict)
    cumulative_conversion: dict[str, list[float | None]] = field(default_factory=dict)
    p_values: dict[str, list[float]] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        return any(result.significant for result in self.arms)

    @property
    def planned_reached(self) -> bool:
        return bool(self.arms) and min(result.exposed for result in self.arms) >= self.plan.per_arm


def experiment_plan(experiment: Experiment, arms: int | None = None) -> TestPlan:
    from .engine import plan_test

    return plan_test(
        baseline=experiment.baseline_conversion,
        relative_effect=experiment.minimum_effect,
        alpha=experiment.alpha,
        power=experiment.power,
        arms=arms if arms is not None else experiment.arms.count(),
    )


def experiment_results(experiment: Experiment) -> ExperimentResults:
    """Per arm: exposures, attributed clicks, add-to-carts, orders and revenue, rates with 95% intervals, and
    the always-valid test of each arm's conversion against the control's, day by day since the start."""
    arms = list(Arm.objects.filter(experiment=experiment).select_related("model_version").order_by("id"))
    params = {
        "tenant": require_tenant_id(),
        "experiment": experiment.pk,
        "window": int(experiment.attribution_window_hours),
    }
    plan = experiment_plan(experiment, arms=len(arms))
    by_arm = {arm.pk: ArmResult(arm) for arm in arms}
    with connection.cursor() as cursor:
        cursor.execute(_EXPOSURE_SQL, params)
        exposure_rows = cursor.fetchall()
        cursor.execute(_PER_ARM_SQL, params)
        attributed_rows = cursor.fetchall()
        cursor.execute(_DAILY_CONVERSIONS_SQL, params)
        conversion_rows = cursor.fetchall()
    for arm_id, _day, exposed, impressions in exposure_rows:
        by_arm[arm_id].exposed += exposed
        by_arm[arm_id].impressions += int(impressions)
    for arm_id, clicks, clickers, carts, carters, orders, converters, revenue in attributed_rows:
        result = by_arm[arm_id]
        result.clicks, result.clickers, result.add_to_carts, result.carters = clicks, clickers, carts, carters
        result.orders, result.converters, result.revenue = orders, converters, Decimal(revenue)

    for result in by_arm.values():
        if result.exposed:
            result.click_through = result.clickers / result.exposed
            result.conversion = result.converters / result.exposed
            result.revenue_per_exposed = (result.revenue / result.exposed).quantize(Decimal("0.01"))
            result.click_through_ci = _interval(result.clickers, result.exposed)
            result.conversion_ci = _interval(result.converters, result.exposed)

    results = ExperimentResults(experiment, plan, [by_arm[arm.pk] for arm in arms])
    _daily_series(results, exposure_rows, conversion_rows)
    return results


def _interval(successes: int, trials: int) -> tuple[float, float]:
    from .engine import wilson_interval

    low, high = wilson_interval(successes, trials)
    return float(low), float(high)


def _daily_series(results: ExperimentResults, exposure_rows: list[tuple], conversion_rows: list[tuple]) -> None:
    import numpy as np

    from .engine import always_valid_p_values

    experiment = results.experiment
    if experiment.started_at is None or not results.arms:
        return
    first = experiment.started_at.astimezone(UTC).date()
    end = (experiment.stopped_at or timezone.now()).astimezone(UTC).date()
    days = [first + timedelta(days=offset) for offset in range(max(0, (end - first).days) + 1)]
    index = {day: position for position, day in enumerate(days)}
    arm_position = {result.arm.pk: position for position, result in enumerate(results.arms)}
    exposed = np.zeros((len(results.arms), len(days)), dtype=np.int64)
    converted = np.zeros_like(exposed)
    for target, rows in ((exposed, exposure_rows), (converted, conversion_rows)):
        for row in rows:
            arm_id, day, count = row[0], row[1], row[2]
            if arm_id in arm_position:
                target[arm_position[arm_id], index.get(day, len(days) - 1 if day > end else 0)] += count
    exposed, converted = np.cumsum(exposed, axis=1), np.cumsum(converted, axis=1)
    results.days = days
    control = next((i for i, result in enumerate(results.arms) if result.arm.is_control), 0)
    for position, result in enumerate(results.arms):
        key = result.arm.key
        results.cumulative_exposed[key] = exposed[position].tolist()
        results.cumulative_conversion[key] = [
            float(c / n) if n else None for c, n in zip(converted[position], exposed[position], strict=True)
        ]
        if position == control:
            continue
        path = always_valid_p_values(
            converted[control], exposed[control], converted[position], exposed[position], tau=results.plan.tau
        )
        results.p_values[key] = path.tolist()
        result.p_value = float(path[-1])
        result.significant = result.p_value <= results.plan.alpha_per_comparison
        control_rate = results.arms[control].conversion
        if control_rate and result.conversion is not None:
            result.lift = result.conversion / control_rate - 1
