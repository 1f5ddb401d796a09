"""The registry of cache entries that hold something about one customer, and their invalidation.

An app that caches per-customer results registers a namespace (from its `ready()`) and builds its keys
with `customer_cache_key`; it stores `customer_cache_version(...)` inside the entry and uses the entry only
while that version is unchanged. Erasure and consent withdrawal call `customer_cache_invalidate`, which
bumps the customer's version key (a racing request that re-caches old rows stores a stale version, never
served) and deletes the customer's entries by their exact keys — no SCAN of the keyspace per customer.
Like `retailsite.safe_cache`, a cache outage degrades to "entries expire by their TTL".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from retailsite.safe_cache import cache_add, cache_get

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CustomerCacheNamespace:
    name: str  # e.g. "storefront:home"
    description: str
    per_visitor: bool = False  # also keyed by the anonymous visitor (browsing session) id


_NAMESPACES: dict[str, CustomerCacheNamespace] = {}


def register_customer_cache(namespace: CustomerCacheNamespace) -> None:
    _NAMESPACES[namespace.name] = namespace


def customer_cache_namespaces() -> list[CustomerCacheNamespace]:
    return list(_NAMESPACES.values())


def customer_cache_key(namespace: str, tenant_id: int, *, customer_id: int | None, visitor_id: str = "") -> str:
    """The one key of a customer's (or, with no customer, a visitor's) entry in a registered namespace."""
    if namespace not in _NAMESPACES:
        raise LookupError(f"cache namespace {namespace!r} is not registered (privacy.cache.register_customer_cache)")
    who = f"c{int(customer_id)}" if customer_id is not None else f"v{visitor_id}"
    return f"{namespace}:{int(tenant_id)}:{who}"


def _version_key(tenant_id: int, customer_id: int) -> str:
    return f"privacy:customer-cache-version:{int(tenant_id)}:{int(customer_id)}"


def _fresh_version() -> int:
    # Microseconds: a version key lost to eviction comes back larger than any version used before it.
    return time.time_ns() // 1000


def customer_cache_version_key(tenant_id: int, customer_id: int) -> str:
    """The key to read (with the entry, in one round trip) for `customer_cache_version`."""
    return _version_key(tenant_id, customer_id)


def customer_cache_version(tenant_id: int, customer_id: int | None, *, found: object = None) -> int:
    """The customer's current cache version (0 for visitors); `found` is the version key's value if read already."""
    if customer_id is None:
        return 0
    key = _version_key(tenant_id, customer_id)
    value = found if found is not None else cache_get(key)
    if isinstance(value, int):
        return value
    version = _fresh_version()
    if cache_add(key, version, timeout=None):
        return version
    value = cache_get(key)
    return value if isinstance(value, int) else version


def customer_cache_invalidate(tenant_id: int, customer_id: int, *, visitor_ids: Iterable[str] = ()) -> None:
    """Make every cached entry about this customer (and these visitor ids) unusable, and delete them."""
    keys = [
        customer_cache_key(namespace.name, tenant_id, customer_id=customer_id) for namespace in _NAMESPACES.values()
    ]
    keys += [
        customer_cache_key(namespace.name, tenant_id, customer_id=None, visitor_id=visitor_id)
        for namespace in _NAMESPACES.values()
        if namespace.per_visitor
        for visitor_id in visitor_ids
    ]
    try:
        cache.set(_version_key(tenant_id, customer_id), _fresh_version(), timeout=None)
        if keys:
            cache.delete_many(keys)
    except Exception as error:  # the cache is down: entries expire by their TTL
        logger.warning("customer cache invalidation failed (%s); entries expire by their TTL", type(error).__name__)
