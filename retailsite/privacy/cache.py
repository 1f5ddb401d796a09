"""Cache entries that hold something about one customer, and removing them at once.

Any code that caches per-customer results (recommendation lists, features, ...) must put them
under `customer_cache_prefix(tenant_id, customer_id)`, e.g.

    cache_set(f"{customer_cache_prefix(tenant_id, customer_id)}for_you:v{version_id}", items, timeout=300)

so that erasure (and withdrawal of consent) can find and delete them all with one pattern.
Like `retailsite.safe_cache`, a cache outage degrades to "entries expire by their TTL".
"""

from __future__ import annotations

import fnmatch
import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

CUSTOMER_CACHE_PREFIX = "recs:{tenant_id}:customer:{customer_id}:"


def customer_cache_prefix(tenant_id: int, customer_id: int) -> str:
    return CUSTOMER_CACHE_PREFIX.format(tenant_id=int(tenant_id), customer_id=int(customer_id))


def customer_cache_patterns(tenant_id: int, customer_id: int) -> list[str]:
    return [customer_cache_prefix(tenant_id, customer_id) + "*"]


def cache_delete_pattern(pattern: str) -> int:
    """Delete every key matching a glob pattern (Redis and local-memory caches); returns how many."""
    try:
        backend = cache._cache  # type: ignore[attr-defined]
        full_pattern = cache.make_key(pattern)
        if hasattr(backend, "get_client"):  # django.core.cache.backends.redis.RedisCacheClient
            client = backend.get_client(write=True)
            keys = list(client.scan_iter(match=full_pattern, count=1000))
            if keys:
                client.delete(*keys)
            return len(keys)
        if isinstance(backend, dict):  # LocMemCache keeps an OrderedDict of made keys
            with cache._lock:  # type: ignore[attr-defined]
                keys = [key for key in list(backend) if fnmatch.fnmatchcase(key, full_pattern)]
                for key in keys:
                    cache._delete(key)  # type: ignore[attr-defined]  # takes the made key
            return len(keys)
        logger.warning(
            "cache backend %s cannot delete by pattern; %s expires by its TTL", type(backend).__name__, pattern
        )
    except Exception as error:  # the cache is down: entries expire by their TTL
        logger.warning("cache delete by pattern failed (%s); entries expire by their TTL", type(error).__name__)
    return 0


def customer_cache_purge(tenant_id: int, customer_id: int) -> int:
    return sum(cache_delete_pattern(pattern) for pattern in customer_cache_patterns(tenant_id, customer_id))
