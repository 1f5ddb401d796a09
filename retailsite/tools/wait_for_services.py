"""Stop `make test` early, with a clear message, when PostgreSQL cannot be reached."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import environ
import psycopg


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        print(f"make test needs PostgreSQL; DATABASE_URL={url!r} is not a postgres:// URL.", file=sys.stderr)
        return 2
    params: dict[str, Any] = {
        "host": config.get("HOST") or "127.0.0.1",
        "port": config.get("PORT") or 5432,
        "user": config.get("USER") or "postgres",
        "dbname": "postgres",
        "connect_timeout": 3,
    }
    if config.get("PASSWORD"):
        params["password"] = config["PASSWORD"]
    last_error: Exception | None = None
    for _ in range(10):
        try:
            with psycopg.connect(**params):
                return 0
        except psycopg.OperationalError as error:
            last_error = error
            time.sleep(1)
    print(
        f"PostgreSQL is not reachable at {params['host']}:{params['port']} as {params['user']} ({last_error}).\n"
        "Start it (e.g. pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
        "or point DATABASE_URL at a running server, or unset it: `make test` then runs on the embedded PostgreSQL.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
