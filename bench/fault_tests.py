"""`make test-faults`: break the real stack on purpose and check that nothing is lost.

Starts a private stack (bench/stack.py: fresh database, Redis on its own port, gunicorn, a Celery worker
for queues light and training), seeds a small store and trains it once, then:

  a1. SIGKILLs the worker's pool process in the middle of a recommendations retrain. The previous model must
      keep serving, and the retrain must complete: the worker re-queues the task (acks_late +
      reject_on_worker_lost) and PostgreSQL released the per-tenant advisory lock with the dead connection.
  a2. SIGKILLs the whole worker (main process and pool) in the middle of a retrain and starts a new one. The
      unacknowledged message comes back after the broker's visibility timeout (45 s here, 4 h in production)
      and the new worker completes the retrain; the previous model serves meanwhile.
  b.  Stops and restarts Redis during a stream of event POSTs and page / API GETs: every event answered 2xx
      must be in PostgreSQL, no 5xx outside the outage window, and the worker reconnects.
  c.  Restarts PostgreSQL (the machine's shared server!) during the same stream: the app recovers without
      being restarted, every event answered 2xx is stored, and the worker reconnects.

Prints what it tried and what was lost; exits 1 on any loss or failed check. Always stops what it started
(by process id) and drops its database; after (c) it waits until PostgreSQL accepts connections again.

    .venv/bin/python -m bench.fault_tests [--skip-postgres-restart] [--only a1,b]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.stack import REPO, HttpResult, Stack, child_pids, log, running_stack, wait_until

SCENARIOS = ("a1", "a2", "b", "c")
TRAIN_TASK = "retailsite.tenancy.tasks.train_tenant_step"
VISIBILITY_TIMEOUT = 45  # the stack's; longer than its task time limit, as in production
TASK_TIME_LIMIT = 40


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
    kind: str
    result: HttpResult


class Traffic:
    """Threads that post events (each with a unique event_id) and read pages and the API until stopped."""

    def __init__(self, stack: Stack, api_key: str, *, threads: int = 3, pause: float = 0.05) -> None:
        self.stack, self.api_key, self.threads, self.pause = stack, api_key, threads, pause
        self.marker = f"fault-{uuid.uuid4().hex[:12]}"  # session_id of every event of this stream
        customers, product_pks, product_ids = stack.sample_ids(20)
        self.customers, self.product_pks, self.product_ids = customers, product_pks, product_ids
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _record(self, kind: str, result: HttpResult) -> None:
        with self._lock:
            self.samples.append(Sample(kind, result))

    def _loop(self, index: int) -> None:
        auth = {"Authorization": f"Bearer {self.api_key}"}
        slug = self.stack.tenant
        n = 0
        while not self._stop.is_set():
            n += 1
            product_id = self.product_ids[n % len(self.product_ids)]
            event = {
                "event_id": f"{self.marker}-{index}-{n}",
                "session_id": self.marker,
                "product_id": product_id,
                "event_type": "view",
            }
            self._record("event", self.stack.request("POST", "/api/v1/events/", body=event, headers=auth))
            self._record("page", self.stack.get(f"/s/{slug}/"))
            self._record("page", self.stack.get(f"/s/{slug}/p/{self.product_pks[n % len(self.product_pks)]}/"))
            customer = self.customers[n % len(self.customers)]
            self._record("api", self.stack.get(f"/api/v1/recommendations/customers/{customer}/", headers=auth))
            time.sleep(self.pause)

    def start(self) -> None:
        for index in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(index,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=30)

    def events_answered_2xx(self) -> int:
        return sum(1 for s in self.samples if s.kind == "event" and 200 <= s.result.status < 300)

    def events_stored(self) -> int:
        return int(
            self.stack.sql(
                "SELECT count(*) FROM commerce_event WHERE tenant_id = %s AND session_id = %s",
                [self.stack.tenant_id(), self.marker],
            )[0][0]
        )

    def bad(self, inside: Callable[[HttpResult], bool]) -> dict[str, int]:
        """Answers that are not 2xx/3xx (status 0 = no answer), by kind and status, among `inside` samples."""
        counts: dict[str, int] = {}
        for sample in self.samples:
            if not sample.result.ok and inside(sample.result):
                key = f"{sample.kind} {sample.result.status or sample.result.error}"
                counts[key] = counts.get(key, 0) + 1
        return counts


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


def _traffic_outcome(outcome: Outcome, traffic: Traffic, window: tuple[float, float], grace: float) -> None:
    down, up = window
    outside = traffic.bad(lambda r: r.finished < down or r.started > up + grace)
    inside = traffic.bad(lambda r: not (r.finished < down or r.started > up + grace))
    total = len(traffic.samples)
    answered, stored = traffic.events_answered_2xx(), traffic.events_stored()
    outcome.observed.append(f"{total} requests; outage window {up - down:.1f} s (+{grace:.0f} s grace)")
    outcome.observed.append(f"events: {answered} answered 2xx, {stored} rows in PostgreSQL")
    outcome.observed.append(f"failed answers inside the window: {inside or 'none'}")
    if stored < answered:
        outcome.lost.append(f"{answered - stored} events answered 2xx are missing from PostgreSQL")
    if stored > answered:
        outcome.findings.append(
            f"{stored - answered} events were stored although the client got no 2xx "
            "(a retry with the same event_id stores nothing twice)"
        )
    if outside:
        outcome.failed.append(f"failed answers outside the outage window: {outside}")


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
        name="retailsite_faults",
        tenant="faults",
        web_workers=2,
        visibility_timeout=VISIBILITY_TIMEOUT,
        task_time_limit=TASK_TIME_LIMIT,
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
