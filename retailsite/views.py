"""Platform-level pages: the landing page listing stores, and liveness/readiness probes.

- `/healthz` (liveness): the process answers. It checks nothing else, so an outage of PostgreSQL or
  Redis never makes an orchestrator restart healthy web processes.
- `/readyz` (readiness): the database, the cache and the Celery broker each answer within about a
  second; 503 with a JSON body naming what failed, so a load balancer stops sending traffic here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from retailsite.tenancy.models import Tenant

PROBE_TIMEOUT_SECONDS = 1.0
CACHE_PROBE_KEY = "readyz:probe"


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"tenants": Tenant.objects.filter(is_active=True)})


@never_cache
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico where a page names no icon (JSON, downloads): the site's icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    probes: dict[str, Callable[[], str]] = {"database": database_ready, "cache": cache_ready, "broker": broker_ready}
    checks: dict[str, str] = {}
    for name, probe in probes.items():
        try:
            checks[name] = probe()
        except Exception as error:
            checks[name] = f"error: {error.__class__.__name__}"
    failed = sorted(name for name, result in checks.items() if not result.startswith("ok"))
    body = {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)


def database_ready() -> str:
    # A savepoint, so a failed check never leaves an enclosing transaction aborted.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def cache_ready() -> str:
    """A write and a read-back through the configured cache (Redis in production)."""
    token = uuid.uuid4().hex
    key = f"{CACHE_PROBE_KEY}:{token}"  # one key per probe: concurrent probes never read each other's
    cache.set(key, token, timeout=30)
    read_back = cache.get(key)
    cache.delete(key)
    return "ok" if read_back == token else "error: value not read back"


def broker_ready() -> str:
    """Connect to the Celery broker with a short timeout (a PING for Redis)."""
    url = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    scheme = urlsplit(url).scheme
    if scheme in ("", "memory"):
        return "ok (in-process)"
    if scheme in ("redis", "rediss"):
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    from kombu import Connection

    with Connection(url, connect_timeout=PROBE_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
    return "ok"
