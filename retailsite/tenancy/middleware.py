"""Resolve the request's tenant and run the request as that tenant in one transaction.

- storefront: path prefix `/s/<slug>/`, or a mapped custom domain;
- staff pages and admin: the user's selected membership (session), else their first;
  a platform superuser with no selection works in platform scope;
- API: the credential (set later by the API authentication, never from a parameter).
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .context import Actor, no_tenant_context, platform_context, set_actor_for_request, tenant_context
from .models import Membership, Tenant
from .selectors import (
    membership_selected_for_staff,
    memberships_for_user,
    tenant_get_active,
    tenant_get_by_slug,
    tenant_id_for_domain,
)

SESSION_TENANT_KEY = "staff_tenant_id"
STAFF_PREFIXES = ("/admin/", "/staff/")
STOREFRONT_PREFIX = "/s/"
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.request_id = _request_id(request)  # type: ignore[attr-defined]
        if request.path_info in PROBE_PATHS:
            # No store data, and they must answer (503, not 500) while PostgreSQL is down.
            with no_tenant_context():
                set_actor_for_request(
                    Actor(
                        "probe",
                        "",
                        request.request_id,  # type: ignore[attr-defined]
                        request.META.get("REMOTE_ADDR", ""),
                    )
                )
                response = self.get_response(request)
        else:
            with no_tenant_context(), transaction.atomic():
                set_actor_for_request(_actor_for(request))
                response = self._dispatch(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(STOREFRONT_PREFIX):
            slug = path[len(STOREFRONT_PREFIX) :].split("/", 1)[0]
            tenant = tenant_get_by_slug(slug)
            if tenant is None:
                return render(request, "no_such_store.html", {"slug": slug}, status=404)
            return self._as_tenant(request, tenant)
        if path.startswith(STAFF_PREFIXES):
            return self._as_staff(request)
        if not path.startswith("/api/"):
            tenant_id = tenant_id_for_domain(request.get_host())
            tenant = tenant_get_active(tenant_id) if tenant_id is not None else None
            if tenant is not None:
                request.urlconf = "retailsite.storefront.domain_urls"
                return self._as_tenant(request, tenant)
        return self.get_response(request)

    def _as_tenant(self, request: HttpRequest, tenant: Tenant) -> HttpResponse:
        request.tenant = tenant  # type: ignore[attr-defined]
        with tenant_context(tenant):
            return self.get_response(request)

    def _as_staff(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        memberships = memberships_for_user(user)
        selected = _selected_membership(request, memberships)
        request.staff_memberships = memberships  # type: ignore[attr-defined]
        if selected is not None:
            request.membership = selected  # type: ignore[attr-defined]
            return self._as_tenant(request, selected.tenant)
        if user.is_superuser:
            with platform_context():
                return self.get_response(request)
        return self.get_response(request)


def _request_id(request: HttpRequest) -> str:
    """The X-Request-ID of a configured proxy (TRUSTED_PROXY_IPS) if it is sane, else a new one: a client's
    own header never reaches the audit log."""
    given = request.headers.get("X-Request-ID", "")
    from_proxy = request.META.get("REMOTE_ADDR", "") in settings.TRUSTED_PROXY_IPS
    if from_proxy and 8 <= len(given) <= 64 and all(ch.isalnum() or ch in "-_." for ch in given):
        return given
    return uuid.uuid4().hex


def audit_client_ip(ip: str) -> str:
    """A shopper's or visitor's address as the append-only audit log keeps it: its network only (IPv4 /24,
    IPv6 /48), enough to see where a burst came from, not to single a person out for ever."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _actor_for(request: HttpRequest) -> Actor:
    ip = request.META.get("REMOTE_ADDR", "")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor("user", str(user.pk), request.request_id, ip)  # type: ignore[attr-defined]
    return Actor("anonymous", "", request.request_id, audit_client_ip(ip))  # type: ignore[attr-defined]


def _selected_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    return membership_selected_for_staff(
        request.user, wanted_tenant_id=request.session.get(SESSION_TENANT_KEY), memberships=memberships
    )
