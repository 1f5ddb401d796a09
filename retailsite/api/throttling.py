"""Rate limits per API key (or per staff user), counted in the shared cache (Redis in production).

A fixed-window counter: one `add` and one `incr` per request, instead of DRF's default
sliding log that rewrites a list of timestamps on every call. The rate is
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"]` (e.g. "1200/min"), read on each
request so settings overrides apply. If the cache is unreachable the request is let
through: an outage of Redis must not take the API down (it is a limit, not a wall).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class CredentialRateThrottle(SimpleRateThrottle):
    scope = "api_key"
    cache_format = "api-throttle:%(ident)s:%(window)d"

    def __init__(self) -> None:  # the rate is looked up per request in allow_request
        self._wait: float | None = None

    def get_rate(self) -> str | None:
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES.get(self.scope))

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        from .authentication import ApiPrincipal

        principal = request.auth
        return principal.throttle_identity if isinstance(principal, ApiPrincipal) else None

    def allow_request(self, request: Request, view: Any) -> bool:
        rate = self.get_rate()
        ident = self.get_cache_key(request, view)
        if rate is None or ident is None:
            return True
        allowed, duration = self.parse_rate(rate)
        if allowed is None or duration is None:
            return True
        now = self.timer()
        window = int(now // duration)
        key = self.cache_format % {"ident": ident, "window": window}
        try:
            cache.add(key, 0, timeout=duration + 1)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=duration + 1)
                count = 1
        except Exception as error:  # the cache is down: do not fail the request
            logger.warning("rate limit not applied: cache unavailable (%s)", type(error).__name__)
            return True
        if count > allowed:
            self._wait = (window + 1) * duration - now
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
