"""Read-side look-ups for tenants, domains, memberships and invitations."""

from __future__ import annotations

import copy

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q
from django.utils import timezone

from retailsite.memo import ExpiringMemo

from .context import platform_context
from .models import Invitation, Membership, Tenant, TenantDomain

# Every storefront request resolves its store; the row is kept in-process for a few seconds instead of
# read each time. A save or delete of a store clears this process's copy at once (signals.py); other
# processes see a renamed or deactivated store within these seconds. Domains rarely change: kept longer,
# unmapped hosts included.
TENANT_CACHE_SECONDS = 5.0
_tenants: ExpiringMemo[tuple[str, object], Tenant] = ExpiringMemo(max_age=TENANT_CACHE_SECONDS, max_entries=1000)
_domains: ExpiringMemo[str, int] = ExpiringMemo(max_age=30.0, max_entries=1000, remember_none=True)


def _tenant_copy(tenant: Tenant | None) -> Tenant | None:
    """Each request gets its own instance: nothing a request does to it reaches the next one."""
    if tenant is None:
        return None
    tenant = copy.copy(tenant)
    tenant.settings = copy.deepcopy(tenant.settings)
    return tenant


def tenant_get_by_slug(slug: str) -> Tenant | None:
    """The active store with this slug (the storefront's `/s/<slug>/`)."""
    return _tenant_copy(
        _tenants.get_or_load(("slug", slug), lambda: Tenant.objects.filter(slug=slug, is_active=True).first())
    )


def tenant_get_active(tenant_id: int) -> Tenant | None:
    """The active store with this id (a mapped domain's store)."""
    return _tenant_copy(
        _tenants.get_or_load(("id", tenant_id), lambda: Tenant.objects.filter(pk=tenant_id, is_active=True).first())
    )


def tenant_id_for_domain(host: str) -> int | None:
    """The tenant mapped to a custom domain, cached briefly in-process (domains rarely change)."""
    from .domains import is_platform_host

    host = host.lower().split(":")[0]
    if is_platform_host(host):
        return None  # the platform's own names are never a store's, whatever a row says

    def load() -> int | None:
        with platform_context():
            return (
                TenantDomain.objects.filter(domain=host, tenant__is_active=True, verified_at__isnull=False)
                .values_list("tenant_id", flat=True)
                .first()
            )

    return _domains.get_or_load(host, load)


def clear_domain_cache() -> None:
    _domains.clear()


def clear_tenant_cache() -> None:
    _tenants.clear()


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
    user: AbstractBaseUser | AnonymousUser,
    *,
    wanted_tenant_id: object,
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
    if getattr(user, "is_superuser", False) and wanted_tenant_id is None:
        return None  # superusers start in platform scope until they pick a store
    return memberships[0]


def invitations_pending_for_user(user: AbstractBaseUser | AnonymousUser) -> list[Invitation]:
    """The open invitations addressed to this signed-in user (their username, or their account's e-mail address
    in any case), from every active store: the user is not a member of those stores yet."""
    if not user.is_authenticated or not user.is_active:
        return []
    addressed = Q(invitee=user.get_username())
    email = (getattr(user, "email", "") or "").strip()
    if email:
        addressed |= Q(invitee__iexact=email)
    with platform_context():
        return list(
            Invitation.objects.filter(
                addressed,
                status=Invitation.Status.PENDING,
                expires_at__gt=timezone.now(),
                tenant__is_active=True,
            )
            .select_related("tenant")
            .order_by("expires_at")
        )
