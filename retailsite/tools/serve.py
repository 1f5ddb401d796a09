"""`make serve`: gunicorn, Celery workers (light and training queues) and one beat, together.

Runs against DATABASE_URL / REDIS_URL with production settings. Stops everything on Ctrl-C
or when any one process exits, so a supervisor (systemd, Kubernetes) sees the failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main() -> int:
    env = {**os.environ}
    env.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.production")
    if not env.get("REDIS_URL"):
        print("make serve needs REDIS_URL (Celery broker and cache), e.g. redis://127.0.0.1:6379/0", file=sys.stderr)
        return 2
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("make serve needs DATABASE_URL pointing at PostgreSQL (as the application role).", file=sys.stderr)
        return 2
    bin_dir = os.path.dirname(sys.executable)
    bind = env.get("BIND", "127.0.0.1:8000")
    web_workers = env.get("WEB_CONCURRENCY", "3")
    commands = {
        "web": [f"{bin_dir}/gunicorn", "retailsite.wsgi:application", "--bind", bind, "--workers", web_workers,
                "--access-logfile", "-", "--graceful-timeout", "20"],
        "worker-light": [f"{bin_dir}/celery", "-A", "retailsite", "worker", "-Q", "light", "-n", "light@%h",
                         "--concurrency", env.get("LIGHT_CONCURRENCY", "2"), "-l", "INFO"],
        "worker-training": [f"{bin_dir}/celery", "-A", "retailsite", "worker", "-Q", "training", "-n",
                            "training@%h", "--concurrency", env.get("TRAINING_CONCURRENCY", "1"), "-l", "INFO"],
        # Exactly one beat per deployment: run this process on one machine only.
        "beat": [f"{bin_dir}/celery", "-A", "retailsite", "beat", "-l", "INFO",
                 "--schedule", env.get("CELERY_BEAT_SCHEDULE_FILE", "var/celerybeat-schedule")],
    }
    os.makedirs("var", exist_ok=True)
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    print(f"serving on http://{bind}/ — " + ", ".join(f"{n} pid {p.pid}" for n, p in processes.items()))

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
