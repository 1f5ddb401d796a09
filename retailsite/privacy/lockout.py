"""Staff sign-in lock-out: after repeated failures, the account is locked for a while.

Three counters, each over a sliding window of `STAFF_LOGIN_WINDOW_SECONDS`:
- username + IP: `STAFF_LOGIN_MAX_FAILURES` failures lock that pair (the usual guessing attack);
- username from anywhere: `STAFF_LOGIN_MAX_FAILURES_PER_USERNAME` lock the username (a botnet);
- IP across usernames: `STAFF_LOGIN_MAX_FAILURES_PER_IP` lock the address (password spraying).
A lock lasts `STAFF_LOGIN_LOCKOUT_SECONDS` and refuses even the right password, without checking
it. Counters live in the cache through `retailsite.safe_cache`: a cache outage means no
lock-out (never a refused sign-in). Keys hold hashes, never usernames or addresses.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings

from retailsite.safe_cache import cache_delete, cache_get, cache_set

logger = logging.getLogger(__name__)

DEFAULTS = {
    "STAFF_LOGIN_MAX_FAILURES": 5,
    "STAFF_LOGIN_MAX_FAILURES_PER_USERNAME": 20,
    "STAFF_LOGIN_MAX_FAILURES_PER_IP": 50,
    "STAFF_LOGIN_WINDOW_SECONDS": 15 * 60,
    "STAFF_LOGIN_LOCKOUT_SECONDS": 15 * 60,
}


def _setting(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _counters(username: str, ip: str) -> list[tuple[str, int]]:
    """(key, failures that lock it) for the three counters of this attempt."""
    name = username.strip().lower()
    return [
        (f"staff-login:fail:account:{_digest(name, ip)}", _setting("STAFF_LOGIN_MAX_FAILURES")),
        (f"staff-login:fail:user:{_digest(name)}", _setting("STAFF_LOGIN_MAX_FAILURES_PER_USERNAME")),
        (f"staff-login:fail:ip:{_digest(ip)}", _setting("STAFF_LOGIN_MAX_FAILURES_PER_IP")),
    ]


def _lock_key(counter_key: str) -> str:
    return counter_key.replace(":fail:", ":lock:", 1)


def staff_login_locked_for(*, username: str, ip: str, now: float | None = None) -> int:
    """Seconds left on a lock covering this username and address (0: not locked)."""
    now = time.time() if now is None else now
    remaining = 0.0
    for key, _limit in _counters(username, ip):
        until = cache_get(_lock_key(key))
        if isinstance(until, int | float) and until > now:
            remaining = max(remaining, until - now)
    return int(remaining + 0.999)


def staff_login_failed(*, username: str, ip: str, now: float | None = None) -> None:
    # get + set rather than an atomic increment, like the storefront's throttle: the cache may be
    # down, and a lost update under a race only delays the lock by an attempt.
    now = time.time() if now is None else now
    window, lockout = _setting("STAFF_LOGIN_WINDOW_SECONDS"), _setting("STAFF_LOGIN_LOCKOUT_SECONDS")
    for key, limit in _counters(username, ip):
        count = cache_get(key, 0)
        count = (count if isinstance(count, int) else 0) + 1
        cache_set(key, count, timeout=window)
        if count >= limit:
            cache_set(_lock_key(key), now + lockout, timeout=lockout)
            cache_delete(key)
            logger.warning("staff sign-in locked for %d s after %d failures (%s)", lockout, count, key.split(":")[2])


def staff_login_succeeded(*, username: str, ip: str) -> None:
    """A good password clears this username + address's failures (not the wider counters)."""
    cache_delete(_counters(username, ip)[0][0])
