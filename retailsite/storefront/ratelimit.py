"""Sign-in throttling for shoppers: lock an e-mail + IP pair after repeated failures, and an IP after many.

Counters live in the cache (through `retailsite.safe_cache`, so a cache outage degrades to no
throttling rather than to errors). Keys hold a hash, never the e-mail address itself.
"""

from __future__ import annotations

import hashlib

from retailsite.safe_cache import cache_delete, cache_get, cache_set

MAX_FAILURES_PER_ACCOUNT = 5  # per store, e-mail and IP
MAX_FAILURES_PER_IP = 50  # per store and IP, across e-mails (password spraying)
LOCKOUT_SECONDS = 15 * 60


def _account_key(tenant_id: int, email: str, ip: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}\x1f{ip}".encode()).hexdigest()[:32]
    return f"storefront:signin:{tenant_id}:account:{digest}"


def _ip_key(tenant_id: int, ip: str) -> str:
    return f"storefront:signin:{tenant_id}:ip:{hashlib.sha256(ip.encode()).hexdigest()[:32]}"


def _count(key: str) -> int:
    value = cache_get(key, 0)
    return value if isinstance(value, int) else 0


def sign_in_locked(*, tenant_id: int, email: str, ip: str) -> bool:
    """True while this e-mail from this IP (or this IP overall) has failed too often recently."""
    return (
        _count(_account_key(tenant_id, email, ip)) >= MAX_FAILURES_PER_ACCOUNT
        or _count(_ip_key(tenant_id, ip)) >= MAX_FAILURES_PER_IP
    )


def sign_in_failed(*, tenant_id: int, email: str, ip: str) -> None:
    # get + set rather than an atomic increment: the cache may be down, and a lost update under a
    # race only delays the lock by an attempt.
    for key in (_account_key(tenant_id, email, ip), _ip_key(tenant_id, ip)):
        cache_set(key, _count(key) + 1, timeout=LOCKOUT_SECONDS)


def sign_in_succeeded(*, tenant_id: int, email: str, ip: str) -> None:
    cache_delete(_account_key(tenant_id, email, ip))
