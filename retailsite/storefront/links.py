"""Store-relative URLs that work both under `/s/<slug>/` and on a store's mapped domain.

On the platform host the storefront's URL patterns take the store slug; on a mapped domain
(TenantMiddleware sets `request.urlconf` to domain_urls) the same patterns sit at the root.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from retailsite.memo import BoundedMemo

# Reversed URLs, remembered: every page draws the same dozen links (layout, navigation), and URL
# patterns do not change while the process runs. Keyed by everything reverse() depends on.
_reversed: BoundedMemo[tuple, str] = BoundedMemo(max_entries=10_000)


def store_url(request: HttpRequest, name: str, *, query: dict[str, Any] | None = None, **kwargs: Any) -> str:
    """reverse() of a storefront URL name for the current store, with an optional query string."""
    urlconf = getattr(request, "urlconf", None)
    if urlconf is None:
        kwargs["store"] = request.tenant.slug  # type: ignore[attr-defined]
    key = (name, urlconf, settings.ROOT_URLCONF, get_script_prefix(), tuple(sorted(kwargs.items())))
    url = _reversed.get_or_compute(key, lambda: reverse(name, kwargs=kwargs or None, urlconf=urlconf))
    query = {key: value for key, value in (query or {}).items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def safe_next_url(request: HttpRequest, candidate: str | None, default: str) -> str:
    """Where to go after signing in: a path on this site and inside this store, else the default."""
    home = store_url(request, "storefront:home")
    if (
        candidate
        and candidate.startswith(home)
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default
