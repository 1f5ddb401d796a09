"""`make test-faults`: break the real stack on purpose and check that nothing is lost.

Starts a private stack (bench/stack.py: fresh database, its own Redis with the append-only file that
docs/operations.md asks of the broker, gunicorn, a Celery worker for queues light and training, and beat with
only the flushes of the buffered writes), seeds a small store and trains it once. Traffic runs through every scenario:

- partner events, each with a unique event_id: POST /api/v1/events/ (one) and /api/v1/events/batch/ (50 to 500);
  a call answered with anything but 2xx is sent again with the same ids until it is answered, as a partner's
  client retries (also for 30 s after the traffic stops);
- storefront product pages of a few anonymous shoppers: each view is appended to the Redis buffer and written
  to PostgreSQL by `events_buffer_flush` (retailsite/storefront/event_buffer.py, a buffered write);
- (b, b2, c) the store's home page and a customer's recommendations from the API.

What must hold is what the documentation promises (docs/operations.md, "Storefront events"):

- every partner event answered 2xx is in PostgreSQL and none is stored twice: answered <= stored <= sent;
- every page view answered 2xx is in PostgreSQL once the buffer has drained: across a pool or worker kill (a
  flush message dies with its worker and comes back by visibility timeout; beat's flush is the safety net), a
  clean Redis restart (the append-only file keeps the buffer) and a PostgreSQL restart (the flush keeps its
  batch until PostgreSQL committed, and retries);
- a broker that loses its data (b2) loses what it held unflushed, and only that: the documented window is
  FLUSH_DELAY_SECONDS plus one flush. The check is that every view answered more than VIEW_LOSS_WINDOW s before
  the crash is stored; the views lost inside the window are reported, not failed.

Scenarios:

  a1. SIGKILLs the worker's pool process in the middle of a recommendations retrain. The previous model must
      keep serving, and the retrain must complete: the worker re-queues the task (acks_late +
      reject_on_worker_lost) and PostgreSQL released the per-tenant advisory lock with the dead connection.
  a2. SIGKILLs the whole worker (main process and pool) in the middle of a retrain and starts a new one. The
      unacknowledged message comes back after the broker's visibility timeout (45 s here, 4 h in production)
      and the new worker completes the retrain; the previous model serves meanwhile.
  b.  Stops and restarts Redis (clean shutdown) during the traffic: no 5xx outside the outage window, /readyz
      names cache and broker while it is down, and the worker reconnects.
  b2. SIGKILLs Redis and starts it with its files deleted (a broker without persistence) during the traffic.
  c.  Restarts PostgreSQL (the machine's shared server!) during the traffic: the app recovers without being
      restarted, and the worker reconnects.

Prints what it tried and what was lost; exits 1 on any loss or failed check. Always stops what it started
(by process id) and drops its database; after (c) it waits until PostgreSQL accepts connections again.

    .venv/bin/python -m bench.fault_tests [--skip-postgres-restart] [--only a1,b] [--port 18600] [--database NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stack import REPO, HttpResult, Stack, child_pids, log, running_stack, wait_until

SCENARIOS = ("a1", "a2", "b", "b2", "c")
TRAIN_TASK = "retailsite.tenancy.tasks.train_tenant_step"
VISIBILITY_TIMEOUT = 45  # the stack's; longer than its task time limit, as in production
TASK_TIME_LIMIT = 40
# Beat runs only the flushes of the buffered writes here: its training fan-out would queue retrains into the
# middle of the worker-kill scenarios.
BEAT_ENTRIES = "flush-buffered-events,flush-buffered-exposures"
# How long the buffer may take to drain after the traffic: a flush held up by the lock of a flush that died with
# Redis waits for the lock to expire (buffered_writes.FLUSH_LOCK_SECONDS, 30 s) and for beat's next tick (30 s);
# the rest is room for a loaded machine.
DRAIN_TIMEOUT = 180.0
# The documented loss window of a broker that loses its data: FLUSH_DELAY_SECONDS (1 s) plus one flush; a flush
# takes well under a second on this store, the rest is room for a loaded machine.
VIEW_LOSS_WINDOW = 5.0
BATCH_SIZES = (50, 500)
RETRY_AFTER_STOP = 30.0


@dataclass
class Outcome:
    name: str
    tried: str
    observed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # true, but not a loss (reported for the operator)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.lost and not self.failed


# -- traffic -----------------------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str  # event (one partner event), batch (partner events), page, view (a product page), api
    result: HttpResult


@dataclass
class Post:
    """A partner call; sent again with the same body (the same event ids) until it is answered 2xx."""

    kind: str
    path: str
    body: dict[str, Any]
    ids: tuple[str, ...]


ALL_KINDS = ("event", "batch", "page", "view", "api")


class Traffic:
    """Threads that post partner events, view product pages as anonymous shoppers and read the home page and
    the API until stopped; each thread is one shopper (one visitor id) and one partner client."""

    def __init__(
        self, stack: Stack, api_key: str, *, threads: int = 3, pause: float = 0.05, kinds: tuple[str, ...] = ALL_KINDS
    ) -> None:
        self.stack, self.api_key, self.threads, self.pause, self.kinds = stack, api_key, threads, pause, kinds
        self.marker = f"fault-{uuid.uuid4().hex[:12]}"  # session_id of every partner event of this stream
        customers, product_pks, product_ids = stack.sample_ids(20)
        self.customers, self.product_pks, self.product_ids = customers, product_pks, product_ids
        self.visitors = stack.visitor_sessions(threads) if "view" in kinds else []  # (cookie, visitor id)
        self.samples: list[Sample] = []
        self.sent: set[str] = set()  # partner event ids sent at least once
        self.answered: set[str] = set()  # ... and answered 2xx
        self.batches_answered = 0
        self.calls_sent_again = 0
        self.unanswered: list[Post] = []  # still failing when the client gave up
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _record(self, kind: str, result: HttpResult) -> HttpResult:
        with self._lock:
            self.samples.append(Sample(kind, result))
        return result

    def _post(self, post: Post) -> bool:
        """Send the call; True once it is answered 2xx."""
        with self._lock:
            self.sent.update(post.ids)
        auth = {"Authorization": f"Bearer {self.api_key}"}
        result = self._record(post.kind, self.stack.request("POST", post.path, body=post.body, headers=auth))
        if 200 <= result.status < 300:
            with self._lock:
                self.answered.update(post.ids)
                self.batches_answered += post.kind == "batch"
            return True
        return False

    def _send_again(self, posts: list[Post]) -> list[Post]:
        with self._lock:
            self.calls_sent_again += len(posts)
        return [post for post in posts if not self._post(post)]

    def _partner_calls(self, index: int, n: int, rng: random.Random) -> list[Post]:
        def event(event_id: str) -> dict[str, str]:
            return {
                "event_id": event_id,
                "session_id": self.marker,
                "product_id": rng.choice(self.product_ids),
                "event_type": "view",
            }

        single = f"{self.marker}-{index}-{n}"
        calls = [Post("event", "/api/v1/events/", event(single), (single,))]
        if "batch" in self.kinds and n % 2 == 0:
            ids = tuple(f"{self.marker}-{index}-{n}-{i}" for i in range(rng.randint(*BATCH_SIZES)))
            calls.append(Post("batch", "/api/v1/events/batch/", {"events": [event(i) for i in ids]}, ids))
        return calls

    def _loop(self, index: int) -> None:
        auth = {"Authorization": f"Bearer {self.api_key}"}
        slug = self.stack.tenant
        rng = random.Random(f"{self.marker}-{index}")
        failing: list[Post] = []
        n = 0
        while not self._stop.is_set():
            n += 1
            failing = self._send_again(failing) if failing else failing
            if "event" in self.kinds:
                failing += [post for post in self._partner_calls(index, n, rng) if not self._post(post)]
            if "page" in self.kinds:
                self._record("page", self.stack.get(f"/s/{slug}/"))
            if "view" in self.kinds:
                cookie = {"Cookie": self.visitors[index][0]}
                product = self.product_pks[n % len(self.product_pks)]
                self._record("view", self.stack.get(f"/s/{slug}/p/{product}/", headers=cookie))
            if "api" in self.kinds:
                customer = self.customers[n % len(self.customers)]
                self._record("api", self.stack.get(f"/api/v1/recommendations/customers/{customer}/", headers=auth))
            time.sleep(self.pause)
        deadline = time.monotonic() + RETRY_AFTER_STOP
        while failing and time.monotonic() < deadline:
            time.sleep(0.5)
            failing = self._send_again(failing)
        with self._lock:
            self.unanswered += failing

    def start(self) -> None:
        for index in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(index,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=RETRY_AFTER_STOP + 30)

    # -- what reached PostgreSQL (overridden by the tests of the accounting) --

    def partner_events_stored(self) -> int:
        return int(
            self.stack.sql(
                "SELECT count(*) FROM commerce_event WHERE tenant_id = %s AND session_id = %s",
                [self.stack.tenant_id(), self.marker],
            )[0][0]
        )

    def views_stored(self, before: float | None = None) -> int:
        """Events of this stream's shoppers in PostgreSQL (that happened before `before`, a time.time())."""
        query = "SELECT count(*) FROM commerce_event WHERE tenant_id = %s AND session_id = ANY(%s)"
        params: list[Any] = [self.stack.tenant_id(), [visitor for _, visitor in self.visitors]]
        if before is not None:
            query += " AND occurred_at < to_timestamp(%s)"
            params.append(before)
        return int(self.stack.sql(query, params)[0][0])

    def wait_flushed(self, timeout: float = DRAIN_TIMEOUT) -> tuple[float, int]:
        """(seconds waited, storefront events still buffered) once the Redis buffer is empty or `timeout` passed."""
        started = time.monotonic()
        try:
            wait_until(lambda: self.stack.buffered_events() == 0, timeout=timeout, interval=0.5, what="the flush")
        except TimeoutError:
            return time.monotonic() - started, self.stack.buffered_events()
        return time.monotonic() - started, 0

    # -- the answers --

    def views_answered(self, before: float | None = None) -> int:
        return sum(
            1
            for s in self.samples
            if s.kind == "view" and 200 <= s.result.status < 300 and (before is None or s.result.finished < before)
        )

    def bad(self, inside: Callable[[HttpResult], bool]) -> dict[str, int]:
        """Answers that are not 2xx/3xx (status 0 = no answer), by kind and status, among `inside` samples."""
        counts: dict[str, int] = {}
        for sample in self.samples:
            if not sample.result.ok and inside(sample.result):
                key = f"{sample.kind} {sample.result.status or sample.result.error}"
                counts[key] = counts.get(key, 0) + 1
        return counts


def check_partner_events(outcome: Outcome, traffic: Traffic) -> None:
    """Every partner event answered 2xx is stored, none twice, and every call was answered in the end."""
    if "event" not in traffic.kinds:
        return
    sent, answered, stored = len(traffic.sent), len(traffic.answered), traffic.partner_events_stored()
    outcome.observed.append(
        f"partner events: {sent} sent ({traffic.batches_answered} batches of {BATCH_SIZES[0]}-{BATCH_SIZES[1]} "
        f"answered), {answered} answered 2xx, {traffic.calls_sent_again} calls sent again, {stored} rows in PostgreSQL"
    )
    if stored < answered:
        outcome.lost.append(f"{answered - stored} partner events answered 2xx are missing from PostgreSQL")
    if stored > sent:
        outcome.failed.append(f"{stored - sent} more rows than partner events sent: a retry stored an event twice")
    if traffic.unanswered:
        events = sum(len(post.ids) for post in traffic.unanswered)
        outcome.failed.append(
            f"{len(traffic.unanswered)} partner calls ({events} events) still not answered 2xx "
            f"{RETRY_AFTER_STOP:.0f} s after the traffic stopped"
        )


def check_views(outcome: Outcome, traffic: Traffic, *, crashed_at: float | None = None) -> None:
    """Every page view answered 2xx is stored once the buffer drained; after a crash of a Redis without its
    files (`crashed_at`), every view answered before the documented loss window."""
    if "view" not in traffic.kinds:
        return
    waited, pending = traffic.wait_flushed()
    answered, stored = traffic.views_answered(), traffic.views_stored()
    outcome.observed.append(
        f"page views: {answered} answered 2xx, {stored} in PostgreSQL after the buffer drained ({waited:.1f} s)"
    )
    if pending:
        outcome.failed.append(f"{pending} storefront events still in the Redis buffer after {waited:.0f} s")
    if crashed_at is not None:
        safe = crashed_at - VIEW_LOSS_WINDOW
        answered_before, stored_before = traffic.views_answered(before=safe), traffic.views_stored(before=safe)
        outcome.observed.append(
            f"views lost with Redis's data: {max(0, answered - stored)} (documented window: the last "
            f"{VIEW_LOSS_WINDOW:.0f} s before the crash, {answered - answered_before} views answered then)"
        )
        if not answered_before:
            outcome.failed.append(f"inconclusive: no view answered more than {VIEW_LOSS_WINDOW:.0f} s before the crash")
        if stored_before < answered_before:
            outcome.lost.append(
                f"{answered_before - stored_before} page views answered more than {VIEW_LOSS_WINDOW:.0f} s before "
                "Redis lost its data are missing: the loss window is longer than documented"
            )
        return
    if stored < answered:
        outcome.lost.append(f"{answered - stored} page views answered 2xx are missing from PostgreSQL")
    if stored > answered:
        outcome.findings.append(
            f"{stored - answered} page views were stored although the page failed after recording them"
        )


class Prober:
    """Polls one URL in the background and keeps every answer (for /readyz, /healthz, the API)."""

    def __init__(self, stack: Stack, path: str, *, interval: float = 0.5, headers: dict[str, str] | None = None):
        self.stack, self.path, self.interval, self.headers = stack, path, interval, headers or {}
        self.results: list[HttpResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.results.append(self.stack.get(self.path, headers=self.headers, timeout=10))
            time.sleep(self.interval)

    def start(self) -> Prober:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _summarize_statuses(results: list[HttpResult]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        key = str(result.status or result.error)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())) or "none"


def _task_successes(stack: Stack) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(stack.metrics_text()):
        for sample in family.samples:
            if (
                sample.name == "retailsite_celery_tasks_total"
                and sample.labels.get("task") == TRAIN_TASK
                and sample.labels.get("outcome") == "succeeded"
            ):
                total += sample.value
    return total


def _check_worker_runs_tasks(stack: Stack, outcome: Outcome, *, timeout: float = 90) -> None:
    """Queue a task that reads the database (a store id that does not exist) and see the worker finish it."""
    before = _task_successes(stack)
    started = time.monotonic()
    stack.enqueue_training(0)
    try:
        wait_until(lambda: _task_successes(stack) > before, timeout=timeout, interval=1, what="a task to finish")
        outcome.observed.append(
            f"the worker ran a newly queued task {time.monotonic() - started:.1f} s later (counted in /metrics)"
        )
    except TimeoutError:
        outcome.failed.append(f"the worker did not finish a newly queued task within {timeout:.0f} s")


# -- scenario a: SIGKILL during a retrain ----------------------------------------------------------------------


def _wait_for_running_retrain(stack: Stack, after_run: int, timeout: float = 90) -> int:
    runs = wait_until(
        lambda: [r for r in stack.training_runs(after_run) if r[1] == "running"],
        timeout=timeout,
        interval=0.25,
        what="the retrain to start",
    )
    return runs[0][0]


def _newest_version_id(stack: Stack, tenant_id: int) -> int:
    rows = stack.sql("SELECT coalesce(max(id), 0) FROM recommendations_modelversion WHERE tenant_id = %s", [tenant_id])
    return int(rows[0][0])


def _version_in_training(stack: Stack, tenant_id: int, newer_than: int) -> bool:
    return bool(
        stack.sql(
            "SELECT 1 FROM recommendations_modelversion WHERE tenant_id = %s AND id > %s AND status = 'training'",
            [tenant_id, newer_than],
        )
    )


def _last_run_id(stack: Stack) -> int:
    runs = stack.training_runs(0)
    return runs[-1][0] if runs else 0


def _serving_versions(prober: Prober) -> tuple[dict[int | None, int], list[str]]:
    versions: dict[int | None, int] = {}
    errors: list[str] = []
    for result in prober.results:
        if result.status == 200:
            version = result.json().get("model_version")
            versions[version] = versions.get(version, 0) + 1
        else:
            errors.append(str(result.status or result.error))
    return versions, errors


def scenario_kill_during_retrain(
    stack: Stack, api_key: str, *, whole_worker: bool, worker_key: str
) -> tuple[Outcome, str]:
    """Returns the outcome and the key of the worker that is running afterwards."""
    what = "the whole worker (main process and pool)" if whole_worker else "the worker's pool process"
    outcome = Outcome(
        "a2 worker killed" if whole_worker else "a1 pool process killed",
        f"SIGKILL {what} in the middle of a recommendations retrain",
    )
    started = time.monotonic()
    tenant_id = stack.tenant_id()
    serving_before = stack.active_model_version()
    customer = stack.sample_ids(1)[0][0]
    prober = Prober(
        stack,
        f"/api/v1/recommendations/customers/{customer}/",
        interval=0.3,
        headers={"Authorization": f"Bearer {api_key}"},
    ).start()
    views = Traffic(stack, api_key, threads=2, kinds=("view",))  # buffered storefront events during the kill
    views.start()
    try:
        after = _last_run_id(stack)
        newest_version = _newest_version_id(stack, tenant_id)
        stack.enqueue_training(tenant_id)
        run_id = _wait_for_running_retrain(stack, after)
        # Kill once the run has written its new (not yet active) version: between reading the data and activation.
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: _version_in_training(stack, tenant_id, newest_version),
                timeout=120,
                interval=0.05,
                what="the retrain's new model version",
            )
        if next(r for r in stack.training_runs(after) if r[0] == run_id)[1] != "running":
            outcome.failed.append("the retrain finished before it could be killed (store too small?)")
            return outcome, worker_key
        worker = stack.processes[worker_key]
        if whole_worker:
            stack.stop(worker_key, signal.SIGKILL)
            killed_at = time.monotonic()
            outcome.observed.append(f"killed worker {worker_key} (pid {worker.pid}) and its pool during run {run_id}")
            worker_key = "worker-2"
            stack.start_worker(worker_key)
            stack.wait_worker_ready(worker_key)
            outcome.observed.append(f"started a new worker {worker_key} {time.monotonic() - killed_at:.1f} s later")
        else:
            pool = child_pids(worker.pid)
            for pid in pool:
                os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            outcome.observed.append(f"killed pool process(es) {pool} of {worker_key} during run {run_id}")
        timeout = (VISIBILITY_TIMEOUT + 120) if whole_worker else 150
        try:
            done = wait_until(
                lambda: [r for r in stack.training_runs(run_id) if r[1] in ("succeeded", "failed")],
                timeout=timeout,
                interval=0.5,
                what="the re-delivered retrain",
            )
        except TimeoutError:
            outcome.lost.append(f"the retrain (run {run_id}) never completed within {timeout} s of the kill")
            done = []
        for rerun_id, status, _trigger, summary in done:
            if status == "succeeded":
                outcome.observed.append(
                    f"re-delivered retrain completed as run {rerun_id} "
                    f"{time.monotonic() - killed_at:.1f} s after the kill: {summary[:90]}"
                )
            else:
                outcome.lost.append(f"the re-delivered retrain failed (run {rerun_id}): {summary[:200]}")
        time.sleep(1.0)
    finally:
        prober.stop()
        views.stop()
    failed_views = views.bad(lambda _: True)
    if failed_views:
        outcome.failed.append(f"product pages failed during the scenario: {failed_views}")
    check_views(outcome, views)
    serving_after = stack.active_model_version()
    versions, errors = _serving_versions(prober)
    outcome.observed.append(
        f"API answers during the scenario by model_version: {versions} "
        f"(active before v{serving_before}, after v{serving_after})"
    )
    new_versions = [
        (int(r[0]), r[1])
        for r in stack.sql(
            "SELECT id, status FROM recommendations_modelversion WHERE tenant_id = %s AND id > %s ORDER BY id",
            [tenant_id, serving_before or 0],
        )
    ]
    complete = {serving_before} | {vid for vid, status in new_versions if status in ("active", "retired")}
    partial = set(versions) - complete
    if errors:
        outcome.failed.append(f"the recommendations API failed {len(errors)} times: {sorted(set(errors))}")
    if partial:
        outcome.failed.append(f"the API served model versions that never completed: {sorted(partial, key=str)}")
    if not versions.get(serving_before):
        outcome.failed.append("the previous model was not seen serving during the retrain")
    if new_versions and new_versions[0][1] in ("active", "retired"):
        outcome.failed.append(
            f"inconclusive: the kill landed after run {run_id} had activated v{new_versions[0][0]}; "
            "run again (or seed a larger store) to kill it mid-way"
        )
    stale = [r for r in stack.training_runs(after) if r[0] == run_id and r[1] == "running"]
    if stale:
        outcome.findings.append(f"the killed run {run_id} is still recorded as 'running' (no sweep of stale runs)")
    stuck = stack.sql(
        "SELECT count(*) FROM recommendations_modelversion WHERE tenant_id = %s AND status = 'training'", [tenant_id]
    )[0][0]
    if stuck:
        outcome.findings.append(
            f"{stuck} model version(s) of killed runs so far left in status 'training' (never served)"
        )
    outcome.seconds = time.monotonic() - started
    return outcome, worker_key


# -- scenarios b and c: outages during traffic -------------------------------------------------------------------


def _traffic_outcome(
    outcome: Outcome, traffic: Traffic, window: tuple[float, float], grace: float, *, redis_lost_data: bool = False
) -> None:
    down, up = window
    outside = traffic.bad(lambda r: r.finished < down or r.started > up + grace)
    inside = traffic.bad(lambda r: not (r.finished < down or r.started > up + grace))
    outcome.observed.append(f"{len(traffic.samples)} requests; outage window {up - down:.1f} s (+{grace:.0f} s grace)")
    outcome.observed.append(f"failed answers inside the window: {inside or 'none'}")
    if outside:
        outcome.failed.append(f"failed answers outside the outage window: {outside}")
    check_partner_events(outcome, traffic)
    check_views(outcome, traffic, crashed_at=down if redis_lost_data else None)


def scenario_redis_restart(stack: Stack, api_key: str) -> Outcome:
    outcome = Outcome("b Redis restart", "stop Redis (clean shutdown), wait 6 s, start it again, during traffic")
    started = time.monotonic()
    traffic = Traffic(stack, api_key)
    readyz = Prober(stack, "/readyz", interval=0.5)
    traffic.start()
    readyz.start()
    try:
        time.sleep(4)
        down = time.time()
        stack.stop_redis()
        log("Redis stopped")
        time.sleep(6)
        stack.start_redis()
        up = time.time()
        log("Redis is back")
        time.sleep(6)
    finally:
        traffic.stop()
        readyz.stop()
    _traffic_outcome(outcome, traffic, (down, up), grace=2.0)
    during = [r for r in readyz.results if r.started > down + 0.5 and r.finished < up]
    named = {name for r in during if r.status == 503 for name in r.json().get("failed", [])}
    outcome.observed.append(
        f"/readyz while Redis was down: {_summarize_statuses(during)}; named {sorted(named) or 'nothing'}"
    )
    if during and not {"cache", "broker"} <= named:
        outcome.failed.append("/readyz did not name both cache and broker while Redis was down")
    _check_worker_runs_tasks(stack, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


def scenario_redis_data_lost(stack: Stack, api_key: str) -> Outcome:
    outcome = Outcome(
        "b2 Redis lost its data",
        "SIGKILL Redis and start it with its files deleted (a broker without persistence), during traffic",
    )
    started = time.monotonic()
    traffic = Traffic(stack, api_key)
    traffic.start()
    try:
        time.sleep(VIEW_LOSS_WINDOW + 6)  # views answered before the loss window, which must all be stored
        down = time.time()
        stack.crash_redis(lose_data=True)
        stack.start_redis()
        up = time.time()
        log("Redis is back, empty")
        time.sleep(6)
    finally:
        traffic.stop()
    _traffic_outcome(outcome, traffic, (down, up), grace=2.0, redis_lost_data=True)
    _check_worker_runs_tasks(stack, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


def ensure_postgres_running(stack: Stack, version: str) -> None:
    try:
        wait_until(stack.postgres_accepts_connections, timeout=60, interval=0.5, what="PostgreSQL")
    except TimeoutError:
        log("PostgreSQL is not accepting connections: starting it")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            start_new_session=True,
            timeout=120,
        )
        wait_until(stack.postgres_accepts_connections, timeout=120, interval=0.5, what="PostgreSQL")


def scenario_postgres_restart(stack: Stack, api_key: str) -> Outcome:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    outcome = Outcome("c PostgreSQL restart", f"`{' '.join(command)}` during traffic (the shared server)")
    started = time.monotonic()
    traffic = Traffic(stack, api_key)
    probes = {path: Prober(stack, path, interval=0.5) for path in ("/healthz", "/readyz")}
    traffic.start()
    for prober in probes.values():
        prober.start()
    try:
        time.sleep(4)
        down = time.time()
        try:
            restart = subprocess.run(
                command, capture_output=True, text=True, timeout=180, check=False, start_new_session=True
            )
            if restart.returncode != 0:
                outcome.failed.append(f"restart command failed: {restart.stderr.strip()[:300]}")
        finally:
            # Interrupted or failed half-way, the shared server may be left stopped: start it again.
            ensure_postgres_running(stack, version)
        up = time.time()
        log(f"PostgreSQL accepts connections again ({up - down:.1f} s)")
        time.sleep(8)
    finally:
        traffic.stop()
        for prober in probes.values():
            prober.stop()
    _traffic_outcome(outcome, traffic, (down, up), grace=3.0)
    for path, prober in probes.items():
        during = [r for r in prober.results if r.started >= down and r.finished <= up]
        outcome.observed.append(f"{path} during the restart: {_summarize_statuses(during)}")
        if path == "/healthz" and any(r.status != 200 for r in during):
            outcome.findings.append(
                "/healthz (liveness) failed while PostgreSQL restarted: TenantMiddleware opens "
                "a transaction for every request, probes included"
            )
    _check_worker_runs_tasks(stack, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


# -- main ----------------------------------------------------------------------------------------------------------


def print_report(outcomes: list[Outcome], total_seconds: float) -> None:
    print("\n## Fault tests\n")
    print("| scenario | tried | lost | failed checks | result | seconds |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        print(
            f"| {o.name} | {o.tried} | {len(o.lost)} | {len(o.failed)} | {'PASS' if o.ok else 'FAIL'} | "
            f"{o.seconds:.0f} |"
        )
    for o in outcomes:
        print(f"\n### {o.name}: {o.tried}")
        for line in o.observed:
            print(f"- {line}")
        for line in o.findings:
            print(f"- finding: {line}")
        for line in o.lost:
            print(f"- LOST: {line}")
        for line in o.failed:
            print(f"- FAILED: {line}")
    lost = sum(len(o.lost) for o in outcomes)
    # Repeated last: CI keeps the tail of a long log, and a failure must be in it.
    problems = [
        (o.name, kind, line)
        for o in outcomes
        for kind, lines in (("LOST", o.lost), ("FAILED", o.failed))
        for line in lines
    ]
    if problems:
        print("\n## What failed\n")
        for name, kind, line in problems:
            print(f"- {name}: {kind}: {line}")
    print(
        f"\nlost: {lost or 'nothing'}; total {total_seconds:.0f} s on {os.cpu_count()} cores; "
        f"command: {' '.join([Path(sys.executable).name, *sys.argv])}"
    )


def run_scenarios(stack: Stack, args: argparse.Namespace, wanted: list[str], outcomes: list[Outcome]) -> None:
    log(f"stack in {stack.tmp}: Redis :{stack.redis_port}, gunicorn :{stack.web_port}, database {stack.name}")
    stack.start_redis()
    stack.create_database()
    log("database created and migrated; starting gunicorn, seeding the store")
    stack.start_web()
    stack.seed(customers=args.customers, products=args.products, days=args.days)
    api_key = stack.issue_api_key()
    stack.start_worker("worker-1")
    stack.start_beat()
    stack.manage("train", "--tenant", stack.tenant, "--only", "recommendations")
    log(f"store trained: model v{stack.active_model_version()} active")
    stack.wait_web()
    stack.wait_worker_ready("worker-1")
    worker_key = "worker-1"
    for name in wanted:
        log(f"scenario {name}")
        if name in ("a1", "a2"):
            outcome, worker_key = scenario_kill_during_retrain(
                stack, api_key, whole_worker=name == "a2", worker_key=worker_key
            )
        elif name == "b":
            outcome = scenario_redis_restart(stack, api_key)
        elif name == "b2":
            outcome = scenario_redis_data_lost(stack, api_key)
        else:
            outcome = scenario_postgres_restart(stack, api_key)
        log(f"scenario {name}: {'PASS' if outcome.ok else 'FAIL'}")
        outcomes.append(outcome)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"scenarios to run, of {','.join(SCENARIOS)}")
    parser.add_argument(
        "--skip-postgres-restart",
        action="store_true",
        help="leave out scenario c (it restarts the machine's shared PostgreSQL)",
    )
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the processes' logs in var/fault-logs/ (always kept after a failure)",
    )
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--products", type=int, default=80)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: any free port)")
    parser.add_argument("--database", default="retailsite_faults", help="the scratch database (dropped at the end)")
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s]
    if args.skip_postgres_restart and "c" in wanted:
        wanted.remove("c")
    unknown = set(wanted) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}")

    started = time.monotonic()
    outcomes: list[Outcome] = []
    stack = Stack(
        name=args.database,
        tenant="faults",
        web_workers=2,
        visibility_timeout=VISIBILITY_TIMEOUT,
        task_time_limit=TASK_TIME_LIMIT,
        web_port=args.port,
        extra_env={"STACK_BEAT_ENTRIES": BEAT_ENTRIES},
    )
    with running_stack(stack):
        try:
            run_scenarios(stack, args, wanted, outcomes)
        except Exception as error:  # a setup step failed: report it as a failure, after cleanup
            outcomes.append(Outcome("setup", "start the stack", failed=[f"{type(error).__name__}: {error}"]))
        if args.keep_logs or not outcomes or not all(o.ok for o in outcomes):
            stack.keep_logs_in = REPO / "var" / "fault-logs"
            log(f"process logs kept in {stack.keep_logs_in}")
    print_report(outcomes, time.monotonic() - started)
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
