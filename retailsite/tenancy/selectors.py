"""Read-side look-ups for tenants, domains and memberships."""

from __future__ import annotations

import time

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .context import platform_context
from .models import Membership, Tenant, TenantDomain

_DOMAIN_CACHE_SECONDS = 30.0
_domain_cache: dict[str, tuple[float, int | None]] = {}


def tenant_get_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug, is_active=True).first()


def tenant_id_for_domain(host: str) -> int | None:
    """The tenant mapped to a custom domain, cached briefly in-process (domains rarely change)."""
    host = host.lower().split(":")[0]
    now = time.monotonic()
    cached = _domain_cache.get(host)
    if cached is not None and now - cached[0] < _DOMAIN_CACHE_SECONDS:
        return cached[1]
    with platform_context():
        tenant_id = (
            TenantDomain.objects.filter(domain=host, tenant__is_active=True).values_list("tenant_id", flat=True).first()
        )
    _domain_cache[host] = (now, tenant_id)
    return tenant_id


def clear_domain_cache() -> None:
    _domain_cache.clear()


def memberships_for_user(user: AbstractBaseUser | AnonymousUser) -> list[Membership]:
    """All of a user's memberships across stores (platform-wide read by design)."""
    if not user.is_authenticated:
        return []
    with platform_context():
        return list(
            Membership.objects.filter(user=user, tenant__is_active=True)
            .select_related("tenant")
            .order_by("tenant__slug")
        )


def membership_selected_for_staff(
    user: AbstractBaseUser | AnonymousUser, *, wanted_tenant_id: object,
    memberships: list[Membership] | None = None,
) -> Membership | None:
    """The membership a staff user works in: the store chosen in their session, else their first.

    A platform superuser who has not chosen a store gets None (platform scope in the admin).
    Shared by TenantMiddleware (admin, staff pages) and the API's staff session authentication.
    """
    if memberships is None:
        memberships = memberships_for_user(user)
    if not memberships:
        return None
    for membership in memberships:
        if membership.tenant_id == wanted_tenant_id:
            return membership
    if user.is_superuser and wanted_tenant_id is None:
        return None  # superusers start in platform scope until they pick a store
    return memberships[0]
