"""The stack harness of the benchmarks and fault scripts: scratch databases, process helpers, and `Stack`.

Run the scripts that use it as modules from the repository root (`python -m scripts.fault_tests`,
`python -m bench.soak`, `python -m bench.bench_serving`). The serving benchmark builds its database the
production way with the helpers here (bench/serving_stack.py adds its store recipe and CPU meter);
the fault and soak tests start a whole private `Stack`:

A `Stack` owns: a fresh PostgreSQL database (roles via `create_db_roles`, migrated as `retail_owner`, served
as `retail_app`) on the shared server, its own Redis on a separate port (never the shared one at 6379), a
gunicorn on a free port and Celery workers (queues light and training). Every process it starts runs in a
process group of its own and is stopped by its id in `close()`, which also drops the database.
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
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens there, else any free local port."""
    candidates = [preferred] if preferred else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port")


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


@dataclass
class Stack:
    name: str  # database name and temp-dir prefix
    tenant: str = "faults"
    web_workers: int = 2
    redis_port: int = 6390
    visibility_timeout: int = 4 * 3600
    task_time_limit: int = 3 * 3600
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="retailsite-stack-")))
    database_created: bool = False
    keep_logs_in: Path | None = None  # copy the processes' logs here at close (after a failure)

    def __post_init__(self) -> None:
        self.redis_port = free_port(self.redis_port)
        self.web_port = free_port(None)
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

    def manage(self, *args: str, role: str = APP_ROLE, capture: bool = False, timeout: float = 600) -> str:
        command = [sys.executable, str(REPO / "manage.py"), *args]
        result = subprocess.run(
            command, env=self.env(role), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout if capture else ""

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
        # Append-only file: a clean stop and restart keeps queued tasks, as the production broker must.
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

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "retailsite.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                str(self.web_workers),
                "--config",
                "python:retailsite.observability.gunicorn_conf",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--access-logfile",
                str(self.tmp / "access.log"),
            ],
        )

    def wait_web(self, timeout: float = 120) -> None:
        wait_until(lambda: self.get("/healthz", timeout=3).status == 200, timeout=timeout, what="gunicorn /healthz")

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

    def wait_worker_ready(self, key: str, timeout: float = 120) -> None:
        wait_until(
            lambda: b"ready." in (self.tmp / f"{key}.log").read_bytes(), timeout=timeout, what=f"celery worker {key}"
        )

    def stop(self, key: str, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Signal the process group this stack started under `key`; SIGKILL it if it outlives `timeout`."""
        process = self.processes.pop(key, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # pool children left behind by a killed parent
            os.killpg(process.pid, signal.SIGKILL)

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
        started = time.time()
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=timeout)
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json"} if payload is not None else {}
        all_headers.update(headers or {})
        try:
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
            return HttpResult(started, time.time(), response.status, data)
        except (OSError, http.client.HTTPException) as error:
            return HttpResult(started, time.time(), 0, b"", type(error).__name__)
        finally:
            conn.close()

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
        return (
            self.manage(
                "apikey", "create", "--tenant", self.tenant, "--name", "stack", "--scopes", scopes, capture=True
            )
            .strip()
            .splitlines()[-1]
        )

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
