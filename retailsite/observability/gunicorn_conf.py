"""Gunicorn hooks for Prometheus multiprocess mode: `gunicorn -c python:retailsite.observability.gunicorn_conf`.

A dead worker's live-gauge files must be marked dead, or a restarted worker's values would mix with
its predecessor's. (Counters and histograms of dead workers are kept and keep counting in the sums.)
"""

from __future__ import annotations

import os
from typing import Any

# The access log names the path without its query string (%(U)s, not %(r)s) and leaves out the referer: query
# strings carry e-mail searches and API keys presented by mistake, and logs are kept and shipped far and wide.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
