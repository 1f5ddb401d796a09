"""Structured logs: one JSON object per line, carrying the request id (and tenant, task) of the work.

`RequestIdFilter` adds `request_id`, `tenant_id`, `task_id` and `task_name` to every record it sees:
the request id comes from the actor that TenantMiddleware sets for the request (the same id it returns
in X-Request-ID and passes to PostgreSQL for the audit log), the task from Celery's current task.
`JsonFormatter` writes the record, those fields and any `extra=` values as JSON.

    LOGGING = {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "retailsite.observability.logs.RequestIdFilter"}},
        "formatters": {"json": {"()": "retailsite.observability.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
        ...
    }
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from retailsite.tenancy.context import current_actor, current_tenant_id

NO_REQUEST = "-"

# Attributes every LogRecord has; anything else on a record came from `extra=` and is written out.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "tenant_id", "task_id", "task_name", "request", "server_time"}
)


class RequestIdFilter(logging.Filter):
    """Adds the current request id, tenant and Celery task to each record (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id(record)
        record.tenant_id = current_tenant_id()
        task_id, task_name = _current_task()
        record.task_id, record.task_name = task_id, task_name
        return True


def _request_id(record: logging.LogRecord) -> str:
    actor = current_actor()
    if actor is not None and actor.request_id:
        return actor.request_id
    # django.request / django.server records carry the request itself.
    request = getattr(record, "request", None)
    return str(getattr(request, "request_id", "") or NO_REQUEST)


def _current_task() -> tuple[str | None, str | None]:
    # Celery is imported by the processes that run or send tasks; the others (a `manage.py` command) start without it.
    celery_state = sys.modules.get("celery._state")
    task = celery_state.get_current_task() if celery_state is not None else None
    if not task or getattr(task.request, "id", None) is None:
        return None, None
    return str(task.request.id), str(task.name)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        for optional in ("tenant_id", "task_id", "task_name"):
            value = getattr(record, optional, None)
            if value is not None:
                entry[optional] = value
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path"):
            entry["method"], entry["path"] = getattr(request, "method", ""), request.path
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
