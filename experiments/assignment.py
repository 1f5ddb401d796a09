"""The serving hook: which arm a shopper is in, recorded as an exposure (registered in apps.ready).

Assignment is a hash of the experiment's salt and the subject's key — the customer when known, else the
visitor's session — so it is sticky and reproducible with no state read per request. The exposure (the
results' denominator: one row per subject with first and last time and the number of lists) is recorded
without a database write on the request path: appended to a Redis list on the Celery broker and written by
`exposures_buffer_flush` (experiments/tasks.py) in batches, aggregated per subject: impressions summed, first
time the least, last time the greatest, one upsert per store and batch (`retailsite/buffered_writes.py`; without
a Redis broker, or with Redis unreachable, it is written at once).

What this costs the results, and the loss window:
- results (experiments/selectors.py) count an exposure about a second after it was served (FLUSH_DELAY_SECONDS;
  with no Celery worker running, when one starts or at the next beat tick, 30 s);
- lost only if the broker Redis loses what it held unflushed (a crash without persistence): about the last
  second of exposures — the same durability as the Celery queues (`appendonly yes`);
- a flush that dies after taking its batch loses nothing (the next flush writes it); one that dies in the instant
  between PostgreSQL's commit and deleting its processing list has its batch written again: the subjects and
  their first and last times stay exact, their impressions (the "lists served") count that batch twice;
- exposures of customers erased, or who withdrew personalization consent, before the flush are dropped (the
  write share-locks the customer rows, so an erasure under way waits for it and then deletes what it wrote);
  so are those of an experiment or arm deleted meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from recommendations.arms import ServingArm
from retailsite.buffered_writes import WriteBuffer, customers_still_consenting
from retailsite.tenancy.context import require_tenant_id, tenant_context

from .engine import assign_one
from .models import Arm, Experiment
from .selectors import RunningExperiment, running_experiment

# One statement per store and batch: the batch is already aggregated per subject (unique keys), and a subject
# already stored keeps its arm and first time, takes the later last time and adds the impressions.
_EXPOSURES_UPSERT_SQL = """
INSERT INTO experiments_exposure
       (tenant_id, experiment_id, arm_id, subject_key, customer_id, session_id, first_at, last_at, impressions)
SELECT %s, x.*
  FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::timestamptz[],
              %s::timestamptz[], %s::integer[]) AS x
ON CONFLICT (tenant_id, experiment_id, subject_key)
DO UPDATE SET first_at = LEAST(experiments_exposure.first_at, EXCLUDED.first_at),
              last_at = GREATEST(experiments_exposure.last_at, EXCLUDED.last_at),
              impressions = experiments_exposure.impressions + EXCLUDED.impressions
"""


@dataclass(frozen=True)
class PendingExposure:
    """One served list of an experiment's arm, as serving recorded it."""

    tenant_id: int
    experiment_id: int
    arm_id: int
    subject_key: str
    customer_id: int | None
    session_id: str
    served_at: str  # ISO 8601, UTC


@dataclass
class _Subject:
    arm_id: int
    customer_id: int | None
    session_id: str
    first_at: dt.datetime
    last_at: dt.datetime
    impressions: int


def exposures_write(exposures: Sequence[PendingExposure]) -> int:
    """Add the exposures (any stores') to `experiments_exposure`, one row per (experiment, subject); returns how
    many subjects were written. Dropped: exposures of customers erased or without personalization consent by
    now, and of experiments or arms deleted meanwhile."""
    by_tenant: dict[int, list[PendingExposure]] = defaultdict(list)
    for exposure in exposures:
        by_tenant[exposure.tenant_id].append(exposure)
    written = 0
    for tenant_id, pending in by_tenant.items():
        with tenant_context(tenant_id), transaction.atomic():
            arms = set(Arm.objects.filter(pk__in={e.arm_id for e in pending}).values_list("pk", "experiment_id"))
            customers = customers_still_consenting(e.customer_id for e in pending if e.customer_id is not None)
            subjects: dict[tuple[int, str], _Subject] = {}
            for e in pending:
                if (e.arm_id, e.experiment_id) not in arms:
                    continue
                if e.customer_id is not None and e.customer_id not in customers:
                    continue
                at = dt.datetime.fromisoformat(e.served_at)
                subject = subjects.get((e.experiment_id, e.subject_key))
                if subject is None:
                    subjects[(e.experiment_id, e.subject_key)] = _Subject(
                        e.arm_id, e.customer_id, e.session_id, at, at, 1
                    )
                else:
                    subject.first_at = min(subject.first_at, at)
                    subject.last_at = max(subject.last_at, at)
                    subject.impressions += 1
            if not subjects:
                continue
            keys = list(subjects)
            rows = [subjects[key] for key in keys]
            with connection.cursor() as cursor:
                cursor.execute(
                    _EXPOSURES_UPSERT_SQL,
                    [
                        tenant_id,
                        [experiment_id for experiment_id, _ in keys],
                        [row.arm_id for row in rows],
                        [key for _, key in keys],
                        [row.customer_id for row in rows],
                        [row.session_id for row in rows],
                        [row.first_at for row in rows],
                        [row.last_at for row in rows],
                        [row.impressions for row in rows],
                    ],
                )
            written += len(rows)
    return written


EXPOSURES = WriteBuffer(
    name="exposures",
    item_type=PendingExposure,
    write=exposures_write,
    flush_task="experiments.tasks.exposures_buffer_flush",
)


def subject_key(customer_id: int | None, session_id: str) -> str | None:
    if customer_id is not None:
        return f"c:{customer_id}"
    if session_id:
        return f"s:{session_id[:100]}"
    return None


@dataclass
class _Batch:
    running: RunningExperiment | None
    exposures: list[PendingExposure] = field(default_factory=list)


_open_batch: ContextVar[_Batch | None] = ContextVar("experiments_serving_batch", default=None)


@contextmanager
def serving_batch() -> Iterator[None]:
    """The lists served inside the block share one look-up of the running experiment, and their exposures are
    buffered in one push when it ends (the API's batch: ten customers cost what one does). Nested blocks join the
    open one. Lists of a block that raised were not shown: their exposures are dropped."""
    if _open_batch.get() is not None:
        yield
        return
    batch = _Batch(running_experiment())
    token = _open_batch.set(batch)
    try:
        yield
    finally:
        _open_batch.reset(token)
    EXPOSURES.record(*batch.exposures)


def serving_arm(customer_id: int | None, session_id: str) -> ServingArm | None:
    batch = _open_batch.get()
    running = batch.running if batch is not None else running_experiment()
    if running is None:
        return None
    key = subject_key(customer_id, session_id)
    if key is None:
        return None
    arm = running.arms[assign_one(running.salt, key, running.shares)]
    exposure = PendingExposure(
        tenant_id=require_tenant_id(),
        experiment_id=running.id,
        arm_id=arm.id,
        subject_key=key,
        customer_id=customer_id,
        session_id="" if customer_id else session_id[:100],
        served_at=timezone.now().isoformat(),
    )
    if batch is not None:
        batch.exposures.append(exposure)
    else:
        EXPOSURES.record(exposure)
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
