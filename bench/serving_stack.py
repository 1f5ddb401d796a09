"""The serving benchmark's store recipe and CPU meter, on the one stack harness (bench/stack.py: `manage`,
`Gunicorn`): a fresh PostgreSQL database built the production way, and a meter of the CPU the server spends.

The database is built exactly as README "Running production-like" and .ci/run describe:
`create_db_roles` as the superuser, `migrate` as the owning role, then everything else
(`seed_demo`, `train`, `apikey create`) and the web server as the application role, under
row-level security. Each step is a `manage.py` subprocess whose output is shown as it runs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.stack import Gunicorn, log, manage, recreate_database
from bench.stack import drop_database as drop_named_database

CACHE_DIR = Path.home() / ".cache" / "retailsite-bench" / "serving"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    admin_url: str  # a superuser connection to the server's maintenance database
    database: str
    redis_url: str
    owner_role: str = "retail_owner"
    app_role: str = "retail_app"

    def database_url(self, role: str | None = None) -> str:
        """The benchmark database's URL, connecting as `role` (default: the admin URL's user)."""
        scheme, rest = self.admin_url.split("://", 1)
        credentials, _, host_and_db = rest.rpartition("@")
        host = host_and_db.split("/", 1)[0]
        user = role if role is not None else credentials
        return f"{scheme}://{user + '@' if user else ''}{host}/{self.database}"


def secrets_file(config: StackConfig) -> Path:
    return CACHE_DIR / f"{config.database}.json"


def new_secrets(data_parameters: dict[str, int]) -> dict[str, object]:
    """Keys for one benchmark database (the customers' personal data is encrypted with them)."""
    from cryptography.fernet import Fernet

    return {
        "data": data_parameters,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }


def server_environment(config: StackConfig, keys: dict[str, object], *, rate_limit: str) -> dict[str, str]:
    """The production settings, as the application role, with this benchmark's keys and Redis database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        {
            # retailsite.settings.production with static files collected into the benchmark's own directory.
            "DJANGO_SETTINGS_MODULE": "bench.serving_settings",
            "BENCH_STATIC_ROOT": str(CACHE_DIR / "static"),
            "DATABASE_URL": config.database_url(config.app_role),
            "REDIS_URL": config.redis_url,
            "SECRET_KEY": str(keys["SECRET_KEY"]),
            "FIELD_ENCRYPTION_KEYS": str(keys["FIELD_ENCRYPTION_KEYS"]),
            "BLIND_INDEX_KEY": str(keys["BLIND_INDEX_KEY"]),
            "ALLOWED_HOSTS": "127.0.0.1",
            # wrk speaks plain HTTP to gunicorn directly; in production TLS ends at the proxy in front.
            "SECURE_SSL_REDIRECT": "False",
            "API_RATE_LIMIT": rate_limit,
            # No connection pooler between gunicorn and PostgreSQL: prepared statements are safe (see base settings).
            "DATABASE_PREPARE_THRESHOLD": "5",
            "LOG_LEVEL": "WARNING",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


# -- building the database -------------------------------------------------------------------


def database_exists(config: StackConfig) -> bool:
    import psycopg

    with psycopg.connect(config.admin_url, autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config.database]).fetchone() is not None


def create_database(config: StackConfig) -> None:
    recreate_database(config.admin_url, config.database)


def drop_database(config: StackConfig) -> None:
    drop_named_database(config.admin_url, config.database)


def flush_redis(redis_url: str) -> None:
    """Empty this benchmark's own Redis database (never FLUSHALL: other databases belong to others)."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def build_store(
    config: StackConfig,
    env: dict[str, str],
    *,
    customers: int,
    products: int,
    days: int,
    seed: int,
    tenant: str,
    end_date: str | None = None,
    train: bool = True,
) -> dict[str, float]:
    """Fresh database, roles, migrations, demo store and (unless `train` is false) trained recommendations.
    Returns step timings."""
    timings: dict[str, float] = {}

    def step(name: str, args: list[str], role: str | None) -> None:
        log(f"== {name}: manage.py {' '.join(args)}  (as {role or 'superuser'})")
        started = time.perf_counter()
        manage(args, env, database_url=config.database_url(role))
        timings[name] = time.perf_counter() - started
        log(f"   {name} took {timings[name]:.0f} s")

    log(f"== fresh database {config.database}")
    create_database(config)
    step("roles", ["create_db_roles"], None)
    step("migrate", ["migrate", "--verbosity", "0"], config.owner_role)
    step(
        "seed",
        [
            "seed_demo",
            "--tenant",
            tenant,
            "--customers",
            str(customers),
            "--products",
            str(products),
            "--days",
            str(days),
            "--seed",
            str(seed),
            *(["--end-date", end_date] if end_date else []),
        ],
        config.app_role,
    )
    if train:
        step("train", ["train", "--tenant", tenant, "--only", "recommendations"], config.app_role)
    return timings


def vacuum_analyze(config: StackConfig) -> float:
    """Planner statistics for the freshly loaded tables, as autovacuum keeps them in production.

    Without them PostgreSQL guesses a handful of rows per tenant and picks the tenant_id index
    over primary keys (a product look-up by 100 ids scans all 20,000 products). The benchmark
    does this itself because the local server may run with autovacuum off.
    """
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(config.database_url(), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def autovacuum_setting(config: StackConfig) -> str:
    import psycopg

    with psycopg.connect(config.database_url(), autocommit=True) as connection:
        return str(connection.execute("SHOW autovacuum").fetchone()[0])


def collect_static(env: dict[str, str]) -> str:
    """Collect static files as production does; returns a note when the work-around storage was needed.

    Production's manifest storage fails when a vendored JavaScript file names a source map that is
    not shipped; the benchmark then collects with the work-around storage (bench/serving_static.py)
    and says so in its report.
    """
    shutil.rmtree(env["BENCH_STATIC_ROOT"], ignore_errors=True)
    try:
        manage(["collectstatic", "--noinput", "--verbosity", "0"], env, database_url=env["DATABASE_URL"], capture=True)
        return ""
    except RuntimeError as error:
        text = str(error)
        if "could not be found" not in text:
            raise
        line = next((line for line in text.splitlines() if "could not be found" in line), "")
        found = re.search(r"The file '[^']+' could not be found", line)
        problem = found.group(0) if found else line.strip()
    log(
        f"   collectstatic with the production storage failed: {problem}\n"
        "   collecting with the work-around storage (JavaScript source-map comments left as they are)"
    )
    env["BENCH_STATIC_SOURCE_MAP_WORKAROUND"] = "1"
    shutil.rmtree(env["BENCH_STATIC_ROOT"], ignore_errors=True)
    manage(["collectstatic", "--noinput", "--verbosity", "0"], env, database_url=env["DATABASE_URL"], capture=True)
    return problem


def api_key_create(config: StackConfig, env: dict[str, str], *, tenant: str) -> str:
    output = manage(
        [
            "apikey",
            "create",
            "--tenant",
            tenant,
            "--name",
            f"bench-serving-{int(time.time())}",
            "--scopes",
            "recommendations:read,catalog:read,events:write",
        ],
        env,
        database_url=config.database_url(config.app_role),
        capture=True,
    )
    return output.strip().splitlines()[-1].strip()


# -- CPU accounting --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, int] | None:
    """(user + system CPU seconds, start time in clock ticks) of a process, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[19])


def boot_ticks_now() -> int:
    """Clock ticks since boot, comparable with a process's start time."""
    return int(float(Path("/proc/uptime").read_text().split()[0]) * CLOCK_TICKS)


def app_backend_pids(admin, config: StackConfig) -> list[int]:
    """The PostgreSQL backends of the application role on the benchmark's database (`admin`: a connection)."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = %s", [config.database, config.app_role]
    ).fetchall()
    return [row[0] for row in rows]


@dataclass
class CpuMeter:
    """CPU spent by the gunicorn workers and by the PostgreSQL backends serving them, during a run.

    The machine is shared, so wall-clock figures move with whatever else runs; CPU per request
    is the work one request really costs. Backends come and go (CONN_MAX_AGE), so they are
    polled: a process born during the run counts from zero, one alive at the start from its
    reading then. Redis is left out: it is shared with other users of this machine.
    """

    server: Gunicorn
    config: StackConfig
    interval: float = 0.5
    _start: dict[int, float] = field(default_factory=dict)
    _last: dict[int, float] = field(default_factory=dict)
    _kind: dict[int, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started_ticks: int = 0

    def _sample(self, admin) -> None:
        for kind, pids in (("python", self.server.worker_pids()), ("postgres", app_backend_pids(admin, self.config))):
            for pid in pids:
                reading = cpu_seconds(pid)
                if reading is None:
                    continue
                seconds, started = reading
                if pid not in self._start:
                    self._start[pid] = 0.0 if started >= self._started_ticks else seconds
                    self._kind[pid] = kind
                self._last[pid] = seconds

    def _loop(self) -> None:
        import psycopg

        with psycopg.connect(self.config.admin_url, autocommit=True) as admin:
            self._sample(admin)
            self._ready.set()
            while not self._stop.wait(self.interval):
                self._sample(admin)
            self._sample(admin)

    def __enter__(self) -> CpuMeter:
        self._started_ticks = boot_ticks_now()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def seconds(self, kind: str) -> float:
        return sum(self._last[pid] - self._start[pid] for pid in self._last if self._kind[pid] == kind)


IDLE_CPU_SHARE = 0.05  # the workers and their backends together under 5% of one core: nothing left in flight
IDLE_WINDOW_SECONDS = 0.5
IDLE_WAIT_LIMIT_SECONDS = 60.0


def wait_until_idle(server: Gunicorn, config: StackConfig) -> float:
    """Wait until the server has finished what the last load left in flight; the seconds waited.

    wrk stops at the end of its run, but each sync worker finishes the request it has read: after a pair of
    500-event batches (about 3 s each under load) the next run's first seconds queued behind them, and the CPU
    they took was counted as the next endpoint's. Idle means the gunicorn workers and the application's
    PostgreSQL backends used under IDLE_CPU_SHARE of one core over IDLE_WINDOW_SECONDS.
    """
    import psycopg

    started = time.monotonic()
    with psycopg.connect(config.admin_url, autocommit=True) as admin:

        def busy_seconds() -> float:
            pids = server.worker_pids() + app_backend_pids(admin, config)
            return sum(reading[0] for reading in map(cpu_seconds, pids) if reading is not None)

        before = busy_seconds()
        while time.monotonic() - started < IDLE_WAIT_LIMIT_SECONDS:
            time.sleep(IDLE_WINDOW_SECONDS)
            now = busy_seconds()
            # A backend that closed (CONN_MAX_AGE) takes its CPU with it: a drop is not work done.
            if 0 <= now - before < IDLE_CPU_SHARE * IDLE_WINDOW_SECONDS:
                return time.monotonic() - started
            before = now
    log(f"   the server was still busy {IDLE_WAIT_LIMIT_SECONDS:.0f} s after the load stopped; going on")
    return time.monotonic() - started


def load_secrets(config: StackConfig) -> dict[str, object] | None:
    path = secrets_file(config)
    return json.loads(path.read_text()) if path.exists() else None


def save_secrets(config: StackConfig, keys: dict[str, object]) -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = secrets_file(config)
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
