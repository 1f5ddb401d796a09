"""Write side of experiments: create, start, stop, promote the winner.

Starting is where the rules are enforced: two or more arms, one control, shares adding up to 100, and
every arm's model version one that passed its offline gate (active or formerly active, lists still
kept) — an experiment never serves a version the NDCG gate rejected or that failed to train.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from recommendations.models import ModelVersion, ProductNeighbours
from recommendations.services import model_version_activate
from retailsite.safe_cache import cache_delete
from retailsite.tenancy.context import require_tenant_id
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.services import TenantError, tenant_settings_set

from .models import Arm, Experiment, arm_key_validator
from .selectors import experiment_plan, running_cache_key
from .signals import experiment_significant

SERVABLE_STATUSES = (ModelVersion.Status.ACTIVE, ModelVersion.Status.RETIRED)


class ExperimentError(ValueError):
    """A request the experiment cannot carry out; the message says why."""


@dataclass(frozen=True)
class ArmSpec:
    key: str
    share: int
    is_control: bool = False
    model_version_id: int | None = None
    max_per_category: int | None = None
    exclude_purchased: bool | None = None


def _forget_running(tenant_id: int) -> None:
    cache_delete(running_cache_key(tenant_id))


def _forget_running_now_and_on_commit(tenant_id: int) -> None:
    # Now, for this transaction's own later reads; on commit, in case another request re-cached the old state.
    _forget_running(tenant_id)
    transaction.on_commit(lambda: _forget_running(tenant_id))


def arms_problems(arms: Sequence[ArmSpec]) -> list[str]:
    """What is wrong with a set of arms (empty when they may run)."""
    problems: list[str] = []
    if len(arms) < 2:
        problems.append("An experiment needs at least two arms.")
    if sum(1 for arm in arms if arm.is_control) != 1:
        problems.append("Exactly one arm must be the control.")
    total = sum(arm.share for arm in arms)
    if arms and total != 100:
        problems.append(f"The arms' shares add up to {total}%; they must add up to 100%.")
    keys = [arm.key for arm in arms]
    if len(set(keys)) != len(keys):
        problems.append("Arm keys must differ.")
    for arm in arms:
        try:
            arm_key_validator(arm.key)
        except Exception:
            problems.append(f"Arm key {arm.key!r}: use 1-16 lowercase letters, digits or _, starting with a letter.")
        if not 1 <= arm.share <= 100:
            problems.append(f"Arm {arm.key!r}: the share must be 1-100%.")
        if arm.max_per_category is not None and arm.max_per_category < 0:
            problems.append(f"Arm {arm.key!r}: the diversity cap cannot be negative.")
    problems += version_problems({arm.model_version_id for arm in arms if arm.model_version_id is not None})
    return problems


def version_problems(versions: set[int]) -> list[str]:
    """Why these model versions may not serve (empty when all passed the offline gate and keep their lists)."""
    problems: list[str] = []
    known = {v.pk: v for v in ModelVersion.objects.filter(pk__in=versions)}
    kept = set(
        ProductNeighbours.objects.filter(model_version_id__in=versions)
        .values_list("model_version_id", flat=True)
        .distinct()
    )
    for version_id in sorted(versions):
        version = known.get(version_id)
        if version is None:
            problems.append(f"Model version {version_id} does not exist in this store.")
        elif version.status not in SERVABLE_STATUSES:
            problems.append(
                f"Model version v{version_id} is {version.status}: only versions that passed the offline gate "
                "(active or formerly active) may serve in an experiment."
            )
        elif version_id not in kept:
            problems.append(f"Model version v{version_id}'s lists were pruned; retrain or pick a newer version.")
    return problems


@transaction.atomic
def experiment_create(
    *,
    name: str,
    arms: Sequence[ArmSpec],
    description: str = "",
    baseline_conversion: float = 0.05,
    minimum_effect: float = 0.10,
    alpha: float = 0.05,
    power: float = 0.8,
    attribution_window_hours: int = 168,
) -> Experiment:
    problems = arms_problems(arms)
    if not name.strip():
        problems.insert(0, "Give the experiment a name.")
    if problems:
        raise ExperimentError(" ".join(problems))
    experiment = Experiment(
        name=name.strip(),
        description=description,
        baseline_conversion=baseline_conversion,
        minimum_effect=minimum_effect,
        alpha=alpha,
        power=power,
        attribution_window_hours=attribution_window_hours,
    )
    experiment_prepare(experiment)
    experiment.full_clean()
    experiment.save()
    Arm.objects.bulk_create(
        [
            Arm(
                tenant_id=experiment.tenant_id,
                experiment=experiment,
                key=arm.key,
                share=arm.share,
                is_control=arm.is_control,
                model_version_id=arm.model_version_id,
                max_per_category=arm.max_per_category,
                exclude_purchased=arm.exclude_purchased,
            )
            for arm in arms
        ]
    )
    return experiment


def experiment_prepare(experiment: Experiment) -> None:
    """Fill what a new experiment gets once (its store and salt); the admin calls this before saving too."""
    if experiment.tenant_id is None:
        experiment.tenant_id = require_tenant_id()
    if not experiment.salt:
        experiment.salt = secrets.token_hex(16)


def _arm_specs(experiment: Experiment) -> list[ArmSpec]:
    return [
        ArmSpec(a.key, a.share, a.is_control, a.model_version_id, a.max_per_category, a.exclude_purchased)
        for a in Arm.objects.filter(experiment=experiment).order_by("id")
    ]


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Draft -> running: checks the arms, plans the sample size, and from the next request serves the arms."""
    tenant_id = require_tenant_id()
    try:
        with transaction.atomic():
            experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
            if experiment.status != Experiment.Status.DRAFT:
                raise ExperimentError(f"{experiment.name!r} is {experiment.status}; only a draft can start.")
            specs = _arm_specs(experiment)
            problems = arms_problems(specs)
            if problems:
                raise ExperimentError(" ".join(problems))
            try:
                plan = experiment_plan(experiment, arms=len(specs))
            except ValueError as error:
                raise ExperimentError(f"Cannot plan the test: {error}.") from None
            experiment.status = Experiment.Status.RUNNING
            experiment.started_at = timezone.now()
            experiment.planned_per_arm = min(plan.per_arm, 2**31 - 1)
            experiment.save(update_fields=["status", "started_at", "planned_per_arm"])
            _forget_running_now_and_on_commit(tenant_id)
    except IntegrityError:
        raise ExperimentError("Another experiment is running in this store; stop it first.") from None
    return experiment


def experiment_stop(*, experiment: Experiment) -> Experiment:
    tenant_id = require_tenant_id()
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status != Experiment.Status.RUNNING:
            raise ExperimentError(f"{experiment.name!r} is {experiment.status}, not running.")
        experiment.status = Experiment.Status.STOPPED
        experiment.stopped_at = timezone.now()
        experiment.save(update_fields=["status", "stopped_at"])
        _forget_running_now_and_on_commit(tenant_id)
    return experiment


def experiment_promote(*, experiment: Experiment, arm: Arm, actor: str = "") -> Experiment:
    """Make `arm` what every shopper gets: activate its version and store its rule settings; stop the test."""
    if arm.experiment_id != experiment.pk:
        raise ExperimentError(f"Arm {arm.key!r} is not an arm of {experiment.name!r}.")
    if experiment.status == Experiment.Status.DRAFT:
        raise ExperimentError("A draft has no results; start it first.")
    problems = version_problems({arm.model_version_id} if arm.model_version_id is not None else set())
    if problems:
        raise ExperimentError(" ".join(problems))
    with transaction.atomic():
        if experiment.status == Experiment.Status.RUNNING:
            experiment = experiment_stop(experiment=experiment)
        if arm.model_version_id is not None:
            version = ModelVersion.objects.select_for_update().get(pk=arm.model_version_id)
            if version.status != ModelVersion.Status.ACTIVE:
                model_version_activate(
                    version=version, reason=f"winner of experiment {experiment.name!r} {actor}".strip()
                )
        assignments = []
        if arm.max_per_category is not None:
            assignments.append(f"max_per_category={arm.max_per_category}")
        if arm.exclude_purchased is not None:
            assignments.append(f"exclude_purchased={'true' if arm.exclude_purchased else 'false'}")
        if assignments:
            try:
                tenant_settings_set(tenant=Tenant.objects.get(pk=experiment.tenant_id), assignments=assignments)
            except TenantError as error:
                raise ExperimentError(str(error)) from None
        experiment.winner = arm
        experiment.save(update_fields=["winner"])
    return experiment


def experiment_mark_significant(*, experiment: Experiment) -> bool:
    """Record the first time the results crossed the significance line; True if this call did (once only)."""
    updated = Experiment.objects.filter(pk=experiment.pk, significant_at__isnull=True).update(
        significant_at=timezone.now()
    )
    if updated:
        experiment_significant.send(sender=Experiment, experiment=experiment)
    return bool(updated)
