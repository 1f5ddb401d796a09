"""Training steps run per tenant under a lock, are recorded, and are scheduled in the tenant's time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import psycopg
import pytest
from django.db import connection

from retailsite.tenancy import training_steps
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.locks import _lock_key
from retailsite.tenancy.models import TrainingRun
from retailsite.tenancy.tasks import schedule_due_training, step_is_due
from tests.factories import TenantFactory, TrainingRunFactory

UTC = dt.UTC


# What the steps registered by `recorded_step` did, in order (they are named by dotted path, like real steps).
CALLS: list[tuple[str, str]] = []


def run_recorded(tenant, progress):
    CALLS.append(("trained", tenant.slug))
    return f"trained {tenant.slug}"


def run_chained(tenant, progress):
    CALLS.append(("chained", tenant.slug))
    return "chained"


def run_exploding(tenant, progress):
    raise ValueError("not enough data")


@pytest.fixture
def recorded_step():
    saved = dict(training_steps._STEPS)
    training_steps._STEPS.clear()
    CALLS.clear()
    training_steps.register_training_step(
        training_steps.TrainingStep(
            "forecasts", 1, f"{__name__}.run_recorded", schedule_setting="forecast_time", then=("inventory",)
        )
    )
    training_steps.register_training_step(training_steps.TrainingStep("inventory", 2, f"{__name__}.run_chained"))
    yield CALLS
    training_steps._STEPS.clear()
    training_steps._STEPS.update(saved)


def test_step_is_due_once_a_day_at_local_time() -> None:
    tenant = TenantFactory.build(timezone="Asia/Tokyo", settings={"forecast_time": "03:00"})
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    before = dt.datetime(2026, 3, 10, 2, 59, tzinfo=tokyo)
    after = dt.datetime(2026, 3, 10, 3, 1, tzinfo=tokyo)
    ran_yesterday = dt.datetime(2026, 3, 9, 3, 5, tzinfo=tokyo)
    ran_today = dt.datetime(2026, 3, 10, 3, 0, 30, tzinfo=tokyo)
    assert not step_is_due(tenant=tenant, step_setting="forecast_time", last_started=ran_yesterday, now=before)
    assert step_is_due(tenant=tenant, step_setting="forecast_time", last_started=ran_yesterday, now=after)
    assert not step_is_due(tenant=tenant, step_setting="forecast_time", last_started=ran_today, now=after)
    assert step_is_due(tenant=tenant, step_setting="forecast_time", last_started=None, now=before)


@pytest.mark.django_db(transaction=True)
def test_beat_fans_out_one_run_per_tenant_and_chains(recorded_step) -> None:
    a, b = TenantFactory(slug="alpha"), TenantFactory(slug="beta")
    queued = schedule_due_training()
    assert sorted(queued) == ["alpha:forecasts", "beta:forecasts"]
    assert sorted(recorded_step) == [
        ("chained", "alpha"),
        ("chained", "beta"),
        ("trained", "alpha"),
        ("trained", "beta"),
    ]
    for tenant in (a, b):
        with tenant_context(tenant):
            runs = {(r.step, r.status, r.trigger) for r in TrainingRun.objects.all()}
        assert runs == {("forecasts", "succeeded", "schedule"), ("inventory", "succeeded", "chain")}
    # Nothing is due again until tomorrow.
    assert schedule_due_training() == []


@pytest.mark.django_db
def test_a_second_run_of_the_same_step_is_refused_while_the_first_holds_the_lock(recorded_step) -> None:
    tenant = TenantFactory()
    # Another worker process (its own connection) holds the lock.
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other_worker:
        key = _lock_key(tenant.id, "train:forecasts")
        assert other_worker.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]
        with pytest.raises(training_steps.StepAlreadyRunning):
            training_steps.training_step_run(tenant=tenant, step_name="forecasts")
        other_worker.execute("SELECT pg_advisory_unlock(%s)", [key])
    assert recorded_step == []
    training_steps.training_step_run(tenant=tenant, step_name="forecasts")
    assert recorded_step == [("trained", tenant.slug)]


@pytest.mark.django_db
def test_a_failing_step_is_recorded_as_failed(recorded_step) -> None:
    training_steps.register_training_step(training_steps.TrainingStep("forecasts", 1, f"{__name__}.run_exploding"))
    tenant = TenantFactory()
    with pytest.raises(ValueError):
        training_steps.training_step_run(tenant=tenant, step_name="forecasts")
    with tenant_context(tenant):
        run = TrainingRun.objects.get()
    assert run.status == "failed" and "not enough data" in run.summary


@pytest.mark.django_db
def test_a_request_already_covered_by_a_later_successful_run_is_skipped(recorded_step) -> None:
    # The scheduler queued the same step twice (say, the queue was busy for a whole tick); both
    # messages carry the moment they were queued. The first trains; the second finds that run and
    # does not train again.
    tenant = TenantFactory()
    queued_at = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    first = training_steps.training_step_run(
        tenant=tenant, step_name="forecasts", trigger="schedule", queued_at=queued_at
    )
    second = training_steps.training_step_run(
        tenant=tenant, step_name="forecasts", trigger="schedule", queued_at=queued_at
    )
    assert recorded_step == [("trained", tenant.slug)]
    assert first.status == "succeeded"
    assert second.status == "skipped" and "already succeeded" in second.summary
    # A request queued after that run is new work and trains.
    training_steps.training_step_run(tenant=tenant, step_name="forecasts", queued_at=dt.datetime.now(UTC))
    assert len(recorded_step) == 2


@pytest.mark.django_db
def test_a_request_whose_runs_keep_killing_their_worker_is_given_up(recorded_step) -> None:
    tenant = TenantFactory()
    queued_at = dt.datetime.now(UTC) - dt.timedelta(minutes=30)
    # Two earlier deliveries died with their worker (found "running" and marked lost by the next
    # one), and the third is still marked running: its worker just died too.
    for _ in range(training_steps.MAX_WORKER_LOSSES - 1):
        TrainingRunFactory(tenant=tenant, step="forecasts", status="failed", summary=training_steps.WORKER_LOST_SUMMARY)
    TrainingRunFactory(tenant=tenant, step="forecasts", status="running")
    with pytest.raises(training_steps.StepGaveUp, match="died with their worker"):
        training_steps.training_step_run(tenant=tenant, step_name="forecasts", queued_at=queued_at)
    assert recorded_step == []  # not run a fourth time
    with tenant_context(tenant):
        assert (
            TrainingRun.objects.filter(summary=training_steps.WORKER_LOST_SUMMARY).count()
            == training_steps.MAX_WORKER_LOSSES
        )
        assert TrainingRun.objects.get(summary__startswith="gave up").status == "failed"
    # A later request (the next schedule, or by hand) runs normally.
    training_steps.training_step_run(tenant=tenant, step_name="forecasts", queued_at=dt.datetime.now(UTC))
    assert recorded_step == [("trained", tenant.slug)]


@pytest.mark.django_db(transaction=True)
def test_a_step_switched_off_by_its_enabled_setting_is_not_scheduled(recorded_step) -> None:
    training_steps.register_training_step(
        training_steps.TrainingStep(
            "forecasts",
            1,
            f"{__name__}.run_recorded",
            schedule_setting="forecast_time",
            enabled_setting="retrain_enabled",
        )
    )
    TenantFactory(slug="off", settings={"retrain_enabled": False})
    TenantFactory(slug="on", settings={"retrain_enabled": True})
    assert schedule_due_training() == ["on:forecasts"]
    assert recorded_step == [("trained", "on")]


def test_a_step_must_name_its_function_by_dotted_path() -> None:
    with pytest.raises(TypeError, match="dotted path"):
        training_steps.register_training_step(training_steps.TrainingStep("forecasts", 1, run_recorded))  # type: ignore[arg-type]


def test_the_installed_steps_name_importable_functions() -> None:
    names = {step.name: step for step in training_steps.training_steps()}
    assert set(names) == {"recommendations", "forecasts", "inventory"}
    assert names["recommendations"].enabled_setting == "retrain_enabled"
    for step in names.values():
        assert callable(step.function())
