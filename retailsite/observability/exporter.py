"""A metrics endpoint for machines that run only Celery workers (no web process to scrape).

    PROMETHEUS_MULTIPROC_DIR=/run/retailsite-metrics python -m retailsite.observability.exporter --port 9808

serves the task metrics that the worker processes of this machine write to PROMETHEUS_MULTIPROC_DIR.
(Model age is served by the web processes' /metrics; it is read from the database there.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9808)
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default: loopback only)")
    args = parser.parse_args(argv)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        print("set PROMETHEUS_MULTIPROC_DIR to the directory the workers write to", file=sys.stderr)
        return 2
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(args.port, addr=args.bind, registry=registry)
    print(f"worker metrics on http://{args.bind}:{args.port}/metrics", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
