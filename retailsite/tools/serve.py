"""`make serve`: gunicorn, Celery workers (light and training queues) and one beat, together.

Runs against DATABASE_URL / REDIS_URL with production settings, after collecting the static files (STATIC_ROOT,
var/staticfiles) that WhiteNoise serves. Stops everything on Ctrl-C
or when any one process exits, so a supervisor (systemd, Kubernetes) sees the failure.

Prometheus multiprocess mode: every process of this machine writes its metrics to
PROMETHEUS_MULTIPROC_DIR (default var/prometheus, emptied at start), and gunicorn's /metrics
sums them, so task metrics of the workers are scraped from the web process too.

Environment: BIND (127.0.0.1:8000), WEB_CONCURRENCY (3), LIGHT_CONCURRENCY (2),
TRAINING_CONCURRENCY (1), TRAINING_NICE (19: training gets only the CPU web requests leave, on a
shared machine), SERVE_BEAT (1; set 0 on every machine but one), CELERY_BEAT_SCHEDULE_FILE.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def prepare_metrics_dir(env: dict[str, str]) -> str:
    """An empty directory for this run's metric files (stale files from a previous run would be summed)."""
    directory = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or "var/prometheus")
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return str(directory.resolve())


def commands(env: dict[str, str], bin_dir: str) -> dict[str, list[str]]:
    bind = env.get("BIND", "127.0.0.1:8000")
    training_nice = int(env.get("TRAINING_NICE", "19"))
    training = [
        f"{bin_dir}/celery",
        "-A",
        "retailsite",
        "worker",
        "-Q",
        "training",
        "-n",
        "training@%h",
        "--concurrency",
        env.get("TRAINING_CONCURRENCY", "1"),
        "-l",
        "INFO",
    ]
    result = {
        "web": [
            f"{bin_dir}/gunicorn",
            "retailsite.wsgi:application",
            "--bind",
            bind,
            "--workers",
            env.get("WEB_CONCURRENCY", "3"),
            "--config",
            "python:retailsite.observability.gunicorn_conf",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "20",
        ],
        "worker-light": [
            f"{bin_dir}/celery",
            "-A",
            "retailsite",
            "worker",
            "-Q",
            "light",
            "-n",
            "light@%h",
            "--concurrency",
            env.get("LIGHT_CONCURRENCY", "2"),
            "-l",
            "INFO",
        ],
        "worker-training": ["nice", "-n", str(training_nice), *training] if training_nice else training,
    }
    if env.get("SERVE_BEAT", "1") != "0":
        # Exactly one beat per deployment: run it on one machine only (SERVE_BEAT=0 elsewhere).
        result["beat"] = [
            f"{bin_dir}/celery",
            "-A",
            "retailsite",
            "beat",
            "-l",
            "INFO",
            "--schedule",
            env.get("CELERY_BEAT_SCHEDULE_FILE", "var/celerybeat-schedule"),
        ]
    return result


def main() -> int:
    env = {**os.environ}
    env.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.production")
    if not env.get("REDIS_URL"):
        print("make serve needs REDIS_URL (Celery broker and cache), e.g. redis://127.0.0.1:6379/0", file=sys.stderr)
        return 2
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("make serve needs DATABASE_URL pointing at PostgreSQL (as the application role).", file=sys.stderr)
        return 2
    os.makedirs("var", exist_ok=True)
    # Static files (admin, storefront CSS) for WhiteNoise: without them every page answers 500.
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], env=env, check=False
    )
    if collected.returncode:
        print("make serve: collectstatic failed; nothing started.", file=sys.stderr)
        return 2
    env["PROMETHEUS_MULTIPROC_DIR"] = prepare_metrics_dir(env)
    # Training is CPU-bound numpy: one BLAS thread per process unless the operator says otherwise.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(variable, "1")
    bin_dir = os.path.dirname(sys.executable)
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands(env, bin_dir).items()}
    print(
        f"serving on http://{env.get('BIND', '127.0.0.1:8000')}/ — "
        + ", ".join(f"{n} pid {p.pid}" for n, p in processes.items())
    )

    def stop(*_: object) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
    finally:
        stop()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    failed = [name for name, p in processes.items() if p.returncode not in (0, -signal.SIGTERM)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
