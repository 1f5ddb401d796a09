"""Cache access that degrades to a miss when the cache (Redis) is down.

PostgreSQL is the source of truth; the cache only saves work. Every read, write and delete
goes through here so an outage means slower answers, never errors.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)
_MISSING = object()


def cache_get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except Exception as error:  # connection refused, timeout, ...
        logger.warning("cache get failed (%s); treating as a miss", type(error).__name__)
        return default


def cache_set(key: str, value: Any, timeout: float | None = None) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as error:
        logger.warning("cache set failed (%s); continuing without cache", type(error).__name__)


def cache_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception as error:
        logger.warning("cache delete failed (%s); entry expires by its TTL", type(error).__name__)
