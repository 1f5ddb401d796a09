"""Settings for the stacks that bench/stack.py starts (bench/fault_tests.py, bench/soak.py): the base
settings, DEBUG off, with the observability wiring (metrics middleware, task metrics, JSON logs) added if
the base settings do not have it yet, and a short broker visibility timeout so a task of a SIGKILLed worker
comes back in seconds.

The visibility timeout stays longer than the task time limit, as in production (4 h vs 3 h): a task is
never re-delivered while it still runs. Both are set from the environment by the driver scripts, as is
STACK_BEAT_ENTRIES: the names of the production beat entries this stack's beat runs (comma-separated; all
when unset).
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "False")

from retailsite.settings.base import *  # noqa: F403
from retailsite.settings.base import CELERY_BEAT_SCHEDULE, LOG_LEVEL, MIDDLEWARE, env

METRICS_MIDDLEWARE = "retailsite.observability.middleware.RequestMetricsMiddleware"
if METRICS_MIDDLEWARE not in MIDDLEWARE:
    MIDDLEWARE = [METRICS_MIDDLEWARE, *MIDDLEWARE]

CELERY_IMPORTS = ["retailsite.observability.celery_metrics"]

_BEAT_ENTRIES = env.list("STACK_BEAT_ENTRIES", default=list(CELERY_BEAT_SCHEDULE))
CELERY_BEAT_SCHEDULE = {name: entry for name, entry in CELERY_BEAT_SCHEDULE.items() if name in _BEAT_ENTRIES}

VISIBILITY_TIMEOUT = env.int("STACK_VISIBILITY_TIMEOUT", default=4 * 3600)
CELERY_TASK_TIME_LIMIT = env.int("STACK_TASK_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - max(1, CELERY_TASK_TIME_LIMIT // 20)
if VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ValueError("STACK_VISIBILITY_TIMEOUT must be longer than STACK_TASK_TIME_LIMIT")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    # Sweep for unacknowledged messages of dead workers every 2 s (default: about every 100 s).
    "unacked_restore_interval": 2,
    "unacked_restore_throttle": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A running retrain keeps running through a broker blip (its ack is a Redis write once it is back).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Workers log through LOGGING below (JSON with task ids) instead of Celery's own plain format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

STATIC_ROOT = env.path("STACK_STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "retailsite.observability.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "retailsite.observability.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
