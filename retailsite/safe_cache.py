"""Cache access that degrades to a miss when the cache (Redis) is down.

PostgreSQL is the source of truth; the cache only saves work. Every read, write and delete
goes through here so an outage means slower answers, never errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from retailsite.memo import ExpiringMemo

logger = logging.getLogger(__name__)
_MISSING = object()


def cache_get(key: str, default: Any = None) -> Any:
    try:
        return cache.get(key, default)
    except Exception as error:  # connection refused, timeout, ...
        logger.warning("cache get failed (%s); treating as a miss", type(error).__name__)
        return default


# How stale a process's copy of a hot shared value (the active model version, the running experiment) may be:
# another process's change shows within this; the process's own at once. The catalog snapshot checks as often.
RECENT_SECONDS = 2.0
_recent: ExpiringMemo[str, Any] = ExpiringMemo(max_age=RECENT_SECONDS, max_entries=10_000)


def cache_get_recent(key: str, load: Callable[[], Any], *, timeout: float) -> Any:
    """The value cached at `key` (on a miss `load()`, cached for `timeout`), answered from this process's copy while
    that is less than `RECENT_SECONDS` old.

    For small values every request asks for: the API's hot paths then make no cache round trip for them. `load()`
    must not return None. `cache_set` and `cache_delete` of the key drop this process's copy.
    """

    def read() -> Any:
        value = cache_get(key)
        if value is None:
            value = load()
            cache_set(key, value, timeout)
        return value

    return _recent.get_or_load(key, read)


def forget_recent() -> None:
    """Drop every copy `cache_get_recent` keeps (after the cache itself was emptied)."""
    _recent.clear()


def cache_set(key: str, value: Any, timeout: float | None = None) -> None:
    _recent.forget(key)
    try:
        cache.set(key, value, timeout)
    except Exception as error:
        logger.warning("cache set failed (%s); continuing without cache", type(error).__name__)


def cache_delete(key: str) -> None:
    _recent.forget(key)
    try:
        cache.delete(key)
    except Exception as error:
        logger.warning("cache delete failed (%s); entry expires by its TTL", type(error).__name__)


def cache_add(key: str, value: Any, timeout: float | None = None) -> bool:
    """Set `key` only if it is not set yet; False when it was (or the cache is down)."""
    try:
        return bool(cache.add(key, value, timeout))
    except Exception as error:
        logger.warning("cache add failed (%s); continuing without cache", type(error).__name__)
        return False


def cache_count(key: str, timeout: float) -> int:
    """Add one to the counter at `key` atomically (cache.add + incr: no update is lost to a concurrent one);
    the window starts with the first count. Returns the new count, 0 when the cache is down."""
    try:
        if cache.add(key, 1, timeout):
            return 1
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add and incr: start a new window
            return 1 if cache.add(key, 1, timeout) else int(cache.incr(key))
    except Exception as error:
        logger.warning("cache count failed (%s); not counted", type(error).__name__)
        return 0


def cache_get_many(keys: list[str]) -> dict[str, Any]:
    """Several keys in one round trip; the ones missing (or all, if the cache is down) are left out."""
    try:
        return cache.get_many(keys)
    except Exception as error:
        logger.warning("cache get_many failed (%s); treating as misses", type(error).__name__)
        return {}


# -- the cache backend -------------------------------------------------------------------------------


class _ClientReusingRedisCacheClient(RedisCacheClient):
    """Django's Redis client builds a new redis.Redis object (hundreds of callback entries) for every
    operation; one per connection pool is enough (redis.Redis is thread-safe, the pool is shared)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    """django.core.cache.backends.redis.RedisCache that reuses its Redis client (settings.CACHES)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientReusingRedisCacheClient
