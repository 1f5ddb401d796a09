"""The one stack harness of the benchmarks and fault tests: scratch databases, processes, gunicorn, and `Stack`.

Run the scripts that use it as modules from the repository root (`python -m bench.fault_tests`,
`python -m bench.soak`, `python -m bench.bench_serving`). Everything that starts the application does it here:

- `manage(...)`: a `manage.py` command in a new interpreter, with the environment it is given;
- `Gunicorn`: the web server as production runs it (`retailsite/tools/serve.py`: the Prometheus multiprocess
  hooks of `retailsite.observability.gunicorn_conf`), in a process group of its own, ready when /healthz answers
  from every worker; the serving benchmark starts it with production settings on a database it builds
  (bench/serving_stack.py adds that store recipe and its CPU meter);
- `Stack`, the private stack of the fault and soak tests: a fresh PostgreSQL database (roles via
  `create_db_roles`, migrated as `retail_owner`, served as `retail_app`) on the shared server, its own Redis on a
  separate port (never the shared one at 6379), a `Gunicorn`, Celery workers (queues light and training) and
  beat. Every process it starts runs in a process group of its own and is stopped by its id in `close()`, which
  also drops the database.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_HOST, PG_PORT = os.environ.get("STACK_PG_HOST", "127.0.0.1"), int(os.environ.get("STACK_PG_PORT", "5432"))
PG_SUPERUSER = os.environ.get("STACK_PG_SUPERUSER", "postgres")
APP_ROLE, OWNER_ROLE = "retail_app", "retail_owner"


def recreate_database(admin_url: str, name: str) -> None:
    """An empty database called `name` (dropped first if it exists, even with sessions open)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def child_pids(parent: int) -> list[int]:
    """The ids of the processes whose parent is `parent` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def log(message: str) -> None:
    """Progress on stderr (reports go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens there, else any free local port."""
    if preferred and port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.5, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what or predicate}")
        time.sleep(interval)


def manage(
    args: list[str],
    env: dict[str, str],
    *,
    database_url: str | None = None,
    capture: bool = False,
    timeout: float | None = None,
) -> str:
    """`manage.py ARGS` in a new interpreter with `env` (and DATABASE_URL if given).

    Its output streams through unless `capture`, then stdout is returned. Raises RuntimeError with the tail of
    the output when the command fails.
    """
    command = [sys.executable, str(REPO / "manage.py"), *args]
    run_env = {**env, "DATABASE_URL": database_url} if database_url is not None else env
    completed = subprocess.run(
        command, env=run_env, cwd=REPO, capture_output=capture, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        output = f"\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}" if capture else " (output above)"
        raise RuntimeError(f"manage.py {' '.join(args)} failed (exit {completed.returncode}){output}")
    return completed.stdout if capture else ""


def stop_process_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Signal the process group `process` leads; SIGKILL it if it outlives `timeout` (and what it leaves)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # children left behind by a killed parent (Celery's pool)
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class HttpResult:
    started: float  # time.time() when sent
    finished: float
    status: int  # 0: no answer (connection refused, reset, timeout)
    body: bytes = b""
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 400

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str, method: str = "GET", *, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> HttpResult:
    """One HTTP request on a new connection; a failure to connect or read is status 0, never an exception.

    `body` is sent as it is when bytes, else as JSON.
    """
    parts = urlsplit(url)
    started = time.time()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if payload is not None else {}
    all_headers.update(headers or {})
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, path or "/", body=payload, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return HttpResult(started, time.time(), response.status, data)
    except (OSError, http.client.HTTPException) as error:
        return HttpResult(started, time.time(), 0, b"", type(error).__name__)
    finally:
        conn.close()


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    """(status, body) of a GET; status 0 when nothing answered."""
    result = request(url, headers=headers, timeout=timeout)
    return result.status, result.body


@dataclass
class Gunicorn:
    """gunicorn as production starts it (retailsite/tools/serve.py), in its own process group.

    Stopping the group stops every worker. Its error log (and stdout) goes to `log_path`.
    """

    process: subprocess.Popen
    base_url: str
    log_path: Path
    workers: int

    @classmethod
    def start(
        cls,
        env: dict[str, str],
        *,
        port: int,
        workers: int,
        log_path: Path,
        worker_class: str = "sync",
        threads: int = 1,
        log_level: str = "warning",
        access_log: Path | None = None,
        timeout: int = 30,
        graceful_timeout: int = 20,
        wait: bool = True,
    ) -> Gunicorn:
        """Start it on 127.0.0.1:`port` and (unless not `wait`) return once every worker is up."""
        if not port_free(port):
            raise RuntimeError(f"127.0.0.1:{port} is in use by another process; choose another port")
        command = [
            str(BIN / "gunicorn"),
            "retailsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--config",
            "python:retailsite.observability.gunicorn_conf",
            "--backlog",
            "2048",
            "--timeout",
            str(timeout),
            "--graceful-timeout",
            str(graceful_timeout),
            "--error-logfile",
            str(log_path),
            "--log-level",
            log_level,
        ]
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        if access_log is not None:
            command += ["--access-logfile", str(access_log)]
        with log_path.open("ab") as handle:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=REPO,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        server = cls(process, f"http://127.0.0.1:{port}", log_path, workers)
        if wait:
            server.wait_ready()
        return server

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until /healthz answers 200 and every worker has started; RuntimeError if gunicorn exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited ({self.process.returncode}); see {self.log_path}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            status, _ = get(self.base_url + "/healthz", timeout=2)
            if status == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_process_group(self.process)


@dataclass
class Stack:
    name: str  # database name and temp-dir prefix
    tenant: str = "faults"
    web_workers: int = 2
    redis_port: int = 6390
    web_port: int = 0  # gunicorn's port if free (0: any free port)
    visibility_timeout: int = 4 * 3600
    task_time_limit: int = 3 * 3600
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="retailsite-stack-")))
    database_created: bool = False
    keep_logs_in: Path | None = None  # copy the processes' logs here at close (after a failure)

    def __post_init__(self) -> None:
        self.redis_port = free_port(self.redis_port)
        self.web_port = free_port(self.web_port or None)
        self.web: Gunicorn | None = None
        self.metrics_dir = self.tmp / "prometheus"
        self.metrics_dir.mkdir()
        (self.tmp / "redis").mkdir()
        (self.tmp / "static").mkdir()
        self.secret_key = secrets.token_urlsafe(48)
        from cryptography.fernet import Fernet

        self.fernet_key = Fernet.generate_key().decode()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self._django_ready = False

    # -- environment ---------------------------------------------------------------------------------------

    def database_url(self, role: str = APP_ROLE) -> str:
        return f"postgres://{role}@{PG_HOST}:{PG_PORT}/{self.name}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self, role: str = APP_ROLE) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "bench.stack_settings",
            "DJANGO_DEBUG": "False",
            "DATABASE_URL": self.database_url(role),
            "REDIS_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "False",
            "SECRET_KEY": self.secret_key,
            "FIELD_ENCRYPTION_KEYS": self.fernet_key,
            "BLIND_INDEX_KEY": "stack-" + self.secret_key[:16],
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MEDIA_ROOT": str(self.tmp / "media"),
            "STACK_STATIC_ROOT": str(self.tmp / "static"),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            "STACK_VISIBILITY_TIMEOUT": str(self.visibility_timeout),
            "STACK_TASK_TIME_LIMIT": str(self.task_time_limit),
            "API_RATE_LIMIT": "1000000/min",
            "LOG_LEVEL": "INFO",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            **self.extra_env,
        }
        env.pop("DATABASE_TEST_NAME", None)
        return env

    def manage(self, *args: str, role: str = APP_ROLE, timeout: float = 600) -> str:
        """`manage.py ARGS` as `role`; returns its output (shown only when it fails)."""
        return manage(list(args), self.env(role), capture=True, timeout=timeout)

    # -- PostgreSQL ----------------------------------------------------------------------------------------

    def admin_url(self) -> str:
        """The superuser's URL of the server's maintenance database (to create and drop this stack's)."""
        return f"postgresql://{PG_SUPERUSER}@{PG_HOST}:{PG_PORT}/postgres?connect_timeout=5"

    def admin_connect(self, dbname: str | None = None, timeout: int = 3) -> psycopg.Connection:
        return psycopg.connect(
            host=PG_HOST,
            port=PG_PORT,
            user=PG_SUPERUSER,
            dbname=dbname or self.name,
            connect_timeout=timeout,
            autocommit=True,
        )

    def sql(self, query: str, params: tuple | list = ()) -> list[tuple]:
        """A query as the superuser on this stack's database (sees every store: no row-level security)."""
        with self.admin_connect() as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def postgres_accepts_connections(self) -> bool:
        try:
            with self.admin_connect("postgres", timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self) -> None:
        recreate_database(self.admin_url(), self.name)
        self.database_created = True
        self.manage("create_db_roles", role=PG_SUPERUSER)
        self.manage("migrate", "--verbosity", "0", role=OWNER_ROLE)

    def drop_database(self) -> None:
        if not self.database_created:
            return
        with contextlib.suppress(psycopg.Error):
            drop_database(self.admin_url(), self.name)
            self.database_created = False

    # -- processes -----------------------------------------------------------------------------------------

    def _spawn(self, key: str, command: list[str], *, role: str = APP_ROLE) -> subprocess.Popen:
        logfile = open(self.tmp / f"{key}.log", "ab")  # noqa: SIM115  (closed with the process)
        process = subprocess.Popen(
            command,
            env=self.env(role),
            cwd=REPO,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logfile.close()
        self.processes[key] = process
        return process

    def start_redis(self) -> None:
        # Append-only file, as docs/operations.md asks of the production broker: a stop (clean or SIGKILL) and a
        # restart keep the queued tasks and the buffered storefront events.
        self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.tmp / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
            ],
        )
        wait_until(self.redis_ping, timeout=15, interval=0.2, what="redis")

    def redis_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        """A clean stop (SIGTERM: Redis flushes its append-only file and exits)."""
        self.stop("redis", signal.SIGTERM, timeout=15)

    def crash_redis(self, *, lose_data: bool) -> None:
        """SIGKILL Redis; with `lose_data` its files go too, so it comes back empty (a broker without persistence)."""
        self.stop("redis", signal.SIGKILL, timeout=15)
        if lose_data:
            for path in (self.tmp / "redis").iterdir():
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()

    def redis_client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.redis_port, socket_connect_timeout=2, socket_timeout=5)

    def start_web(self) -> None:
        """gunicorn with the stack's settings; returns at once (wait_web waits for its workers)."""
        self.web = Gunicorn.start(
            self.env(),
            port=self.web_port,
            workers=self.web_workers,
            log_path=self.tmp / "web.log",
            log_level="info",
            access_log=self.tmp / "access.log",
            timeout=60,
            graceful_timeout=5,
            wait=False,
        )
        self.processes["web"] = self.web.process

    def wait_web(self, timeout: float = 120) -> None:
        assert self.web is not None, "start_web() first"
        self.web.wait_ready(timeout)

    def start_worker(
        self, key: str, *, queues: str = "light,training", concurrency: int = 1, nice: int = 0
    ) -> subprocess.Popen:
        command = [
            str(BIN / "celery"),
            "-A",
            "retailsite",
            "worker",
            "-Q",
            queues,
            "-n",
            f"{key}@%h",
            "--concurrency",
            str(concurrency),
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if nice:
            command = ["nice", "-n", str(nice), *command]
        return self._spawn(key, command)

    def start_beat(self) -> subprocess.Popen:
        """Celery beat, as `make serve` runs one (its schedule: CELERY_BEAT_SCHEDULE, see STACK_BEAT_ENTRIES)."""
        command = [str(BIN / "celery"), "-A", "retailsite", "beat", "-l", "INFO", "--schedule", str(self.tmp / "beat")]
        return self._spawn("beat", command)

    def wait_worker_ready(self, key: str, timeout: float = 120) -> None:
        wait_until(
            lambda: b"ready." in (self.tmp / f"{key}.log").read_bytes(), timeout=timeout, what=f"celery worker {key}"
        )

    def stop(self, key: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Signal the process group this stack started under `key`; SIGKILL it if it outlives `timeout`."""
        process = self.processes.pop(key, None)
        if process is not None:
            stop_process_group(process, sig, timeout)

    def close(self) -> None:
        # Web and workers first, Redis last: workers do not log a lost broker on the way out.
        for key in sorted(self.processes, key=lambda name: name == "redis"):
            self.stop(key, signal.SIGTERM, timeout=10)
        if not self.postgres_accepts_connections():
            log("waiting for PostgreSQL to accept connections before dropping the stack's database")
            with contextlib.suppress(TimeoutError):
                wait_until(self.postgres_accepts_connections, timeout=120, interval=1, what="PostgreSQL")
        self.drop_database()
        if self.keep_logs_in is not None:
            self.keep_logs_in.mkdir(parents=True, exist_ok=True)
            for logfile in self.tmp.glob("*.log"):
                shutil.copy(logfile, self.keep_logs_in / logfile.name)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- HTTP ----------------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
    ) -> HttpResult:
        return request(self.base_url + path, method, body=body, headers=headers, timeout=timeout)

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("GET", path, **kwargs)

    # -- Django in this process (to enqueue tasks exactly as the application does) ---------------------------

    def django(self) -> None:
        if self._django_ready:
            return
        os.environ.update({k: v for k, v in self.env().items() if k not in ("PYTHONPATH",)})
        import django

        django.setup()
        self._django_ready = True

    def enqueue_training(self, tenant_id: int, step: str = "recommendations", trigger: str = "manual") -> str:
        """`train_tenant_step.delay(...)`: the message goes to the stack's Redis, queue "training"."""
        self.django()
        from retailsite.tenancy.tasks import train_tenant_step

        return str(train_tenant_step.delay(tenant_id, step, trigger).id)

    def visitor_sessions(self, count: int) -> list[tuple[str, str]]:
        """(Cookie header, visitor id) of `count` new anonymous shoppers of the stack's store."""
        self.django()
        from django.db import connections

        from retailsite.tenancy.models import Tenant

        try:
            return anonymous_sessions(Tenant.objects.get(slug=self.tenant), count)
        finally:
            connections.close_all()  # nothing held open across a PostgreSQL restart

    def buffered_events(self) -> int:
        """Storefront events in the stack's Redis not yet written to PostgreSQL (buffer and a flush's batch)."""
        self.django()
        from retailsite.storefront.event_buffer import EVENTS

        client = self.redis_client()
        try:
            return int(client.llen(EVENTS.buffer_key)) + int(client.llen(EVENTS.processing_key))
        finally:
            client.close()

    # -- the demo store ------------------------------------------------------------------------------------

    def seed(self, *, customers: int, products: int, days: int) -> None:
        self.manage(
            "seed_demo",
            "--tenant",
            self.tenant,
            "--customers",
            str(customers),
            "--products",
            str(products),
            "--days",
            str(days),
            "--no-progress",
        )

    def issue_api_key(self, scopes: str = "events:write,recommendations:read,catalog:read") -> str:
        output = self.manage("apikey", "create", "--tenant", self.tenant, "--name", "stack", "--scopes", scopes)
        return output.strip().splitlines()[-1]

    def tenant_id(self) -> int:
        return int(self.sql("SELECT id FROM tenancy_tenant WHERE slug = %s", [self.tenant])[0][0])

    def active_model_version(self) -> int | None:
        rows = self.sql(
            "SELECT id FROM recommendations_modelversion WHERE tenant_id = %s AND status = 'active'", [self.tenant_id()]
        )
        return int(rows[0][0]) if rows else None

    def training_runs(self, since_id: int = 0) -> list[tuple[int, str, str, str]]:
        """(id, status, trigger, summary) of recommendation training runs after `since_id`."""
        return [
            (int(r[0]), r[1], r[2], r[3])
            for r in self.sql(
                "SELECT id, status, trigger, summary FROM tenancy_trainingrun WHERE tenant_id = %s "
                "AND step = 'recommendations' AND id > %s ORDER BY id",
                [self.tenant_id(), since_id],
            )
        ]

    def sample_ids(self, limit: int = 20) -> tuple[list[str], list[int], list[str]]:
        """Customer external ids, product pks (storefront URLs) and product external ids of the store."""
        tenant_id = self.tenant_id()
        customers = [
            r[0]
            for r in self.sql(
                "SELECT external_id FROM commerce_customer WHERE tenant_id = %s ORDER BY id LIMIT %s",
                [tenant_id, limit],
            )
        ]
        products = self.sql(
            "SELECT id, external_id FROM commerce_product WHERE tenant_id = %s AND active ORDER BY id LIMIT %s",
            [tenant_id, limit],
        )
        return customers, [int(r[0]) for r in products], [r[1] for r in products]

    def metrics_text(self) -> str:
        return self.get("/metrics", timeout=10).body.decode()


def anonymous_sessions(tenant: Any, count: int) -> list[tuple[str, str]]:
    """(Cookie header, visitor id) of `count` new anonymous shoppers of `tenant` (Django set up by the caller).

    Each session holds what a first page view stores (the storefront's own code on a synthetic request), so the
    views a client sends with the cookie are recorded under that visitor id (Event.session_id).
    """
    from importlib import import_module

    from django.conf import settings
    from django.db import transaction
    from django.test import RequestFactory

    from retailsite.storefront.shopper import shopper_for_request
    from retailsite.tenancy.context import tenant_context

    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    with tenant_context(tenant), transaction.atomic():
        for _ in range(count):
            request = RequestFactory().get(f"/s/{tenant.slug}/")
            request.session = session_store()
            request.tenant = tenant
            shopper = shopper_for_request(request)
            request.session.save()
            sessions.append((f"{settings.SESSION_COOKIE_NAME}={request.session.session_key}", shopper.visitor_id))
    return sessions


@contextlib.contextmanager
def running_stack(stack: Stack) -> Iterator[Stack]:
    """Always clean up, also on Ctrl-C or SIGTERM."""

    def terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield stack
    finally:
        log("cleaning up: stopping the stack's processes and dropping its database")
        stack.close()
        signal.signal(signal.SIGTERM, previous)
