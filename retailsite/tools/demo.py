"""`make demo`: a fresh demo store on the embedded PostgreSQL, set up exactly as production is.

1. check that DEMO_PORT is free (before any work);
2. start the embedded server (var/postgres) and recreate its `retailsite` database: every run is a fresh store;
3. `create_db_roles` as the superuser, `migrate` as the owning role, then everything else as the application role
   (row-level security and the audit triggers on, as in production);
4. `seed_demo --with-staff`, train recommendations, collect static files;
5. forecasts and the reorder plan train in the background (log: var/train.log) while `runserver` serves.

Ctrl-C (or the server exiting) stops the background training, the server and the embedded PostgreSQL.
Environment: DEMO_PORT (8000), DEMO_SEED_ARGS (extra `seed_demo` arguments, e.g. "--customers 500").
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from retailsite.tools import embedded_db

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "retailsite"
TENANT = "demo"


class DemoError(RuntimeError):
    pass


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise DemoError(
                f"Port {port} is already in use. Stop what uses it, or choose another port: make demo DEMO_PORT=8001"
            ) from None


def recreate_database(port: int) -> None:
    with psycopg.connect(embedded_db.url(port, database="postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


class Demo:
    def __init__(self, port: int, python: str = sys.executable) -> None:
        self.port = port
        self.python = python
        self.children: list[subprocess.Popen[bytes]] = []
        self.db_port: int | None = None
        self.started_db = False

    def env(self, kind: str) -> dict[str, str]:
        assert self.db_port is not None
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")}
        env["DJANGO_SETTINGS_MODULE"] = "retailsite.settings.base"
        # The demo is a development setup: DEBUG on (keys derived from the development SECRET_KEY), however started.
        env.setdefault("DJANGO_DEBUG", "True")
        env["DATABASE_URL"] = embedded_db.url(self.db_port, role=embedded_db.role_name(kind), database=DATABASE)
        return env

    def manage(self, kind: str, *args: str) -> None:
        command = [self.python, "manage.py", *args]
        print(f"$ {' '.join(command)}    (as {embedded_db.role_name(kind)})", flush=True)
        result = subprocess.run(command, env=self.env(kind), cwd=ROOT, check=False)
        if result.returncode:
            raise DemoError(f"`manage.py {' '.join(args)}` failed (exit {result.returncode}).")

    def spawn(self, command: list[str], kind: str, **kwargs: object) -> subprocess.Popen[bytes]:
        # Own process group: Ctrl-C reaches it only through stop(), after the server has gone.
        process = subprocess.Popen(command, env=self.env(kind), cwd=ROOT, start_new_session=True, **kwargs)  # type: ignore[call-overload]
        self.children.append(process)
        return process

    def run(self) -> int:
        check_port_free(self.port)
        self.db_port, self.started_db = embedded_db.start()
        how = "started for this demo" if self.started_db else "already running"
        print(f"Embedded PostgreSQL on 127.0.0.1:{self.db_port} ({how}; data in var/postgres).")
        print("Every run of the demo starts a fresh store.")
        recreate_database(self.db_port)
        self.manage("superuser", "create_db_roles")
        self.manage("owner", "migrate", "--verbosity", "0")
        seed_args = shlex.split(os.environ.get("DEMO_SEED_ARGS", ""))
        self.manage("app", "seed_demo", "--tenant", TENANT, "--with-staff", *seed_args)
        self.manage("app", "train", "--tenant", TENANT, "--only", "recommendations")
        self.manage("app", "collectstatic", "--noinput", "--verbosity", "0")
        check_port_free(self.port)  # still free after the minutes of seeding and training
        print("Forecasts and the reorder plan train in the background (log: var/train.log).")
        train_log = (ROOT / "var" / "train.log").open("wb")
        background = (
            f"{shlex.quote(self.python)} manage.py train --tenant {TENANT} --only forecasts && "
            f"{shlex.quote(self.python)} manage.py train --tenant {TENANT} --only inventory"
        )
        self.spawn(["sh", "-c", background], "app", stdout=train_log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{self.port}"
        print(
            f"\n  Demo store:   {base}/s/{TENANT}/\n"
            f"  Staff admin:  {base}/admin/   (owner: demo-owner / demo-password-123,\n"
            f"                                   analyst: demo-analyst / demo-password-123)\n"
            f"  Partner API:  {base}/api/v1/docs/   (docs/api.md)\n"
            "  Ctrl-C stops the demo (server, background training and the embedded PostgreSQL).\n",
            flush=True,
        )
        server = self.spawn([self.python, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"], "app")
        return server.wait()

    def stop(self) -> None:
        for process in reversed(self.children):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 20
        for process in self.children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if self.started_db:
            embedded_db.stop()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    port = int(os.environ.get("DEMO_PORT", "8000"))
    demo = Demo(port)
    # Explicitly: a process started in the background inherits an ignored SIGINT.
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    try:
        return demo.run()
    except DemoError as error:
        print(f"make demo: {error}", file=sys.stderr)
        return 2
    except embedded_db.EmbeddedDatabaseError as error:
        print(f"make demo: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopping the demo ...", file=sys.stderr)
        return 0
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
