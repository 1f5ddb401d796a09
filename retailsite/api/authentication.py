"""Who is calling, and so which store: the tenant of an API request comes only from its credential.

- `ApiKeyAuthentication`: `Authorization: Bearer rsk_...` (or `X-API-Key: rsk_...`).
- `StaffSessionAuthentication`: a signed-in staff user (browsable API), acting in the store
  selected for the admin, with scopes derived from their role.

On success the request's tenant is activated with `activate_tenant_for_request`, which
TenantMiddleware undoes when the request ends. `request.auth` is an `ApiPrincipal`.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from retailsite.tenancy.context import Actor, activate_tenant_for_request, set_actor_for_request
from retailsite.tenancy.middleware import SESSION_TENANT_KEY
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.selectors import membership_selected_for_staff, memberships_for_user

from .models import ApiKey
from .scopes import scopes_for_membership
from .selectors import api_key_for_presented_key
from .services import api_key_record_use

BEARER = "bearer"
API_KEY_HEADER = "HTTP_X_API_KEY"


@dataclass(frozen=True)
class ApiPrincipal:
    """The authenticated caller: its store, its scopes, and the key or staff user behind it."""

    tenant: Tenant
    scopes: frozenset[str]
    api_key: ApiKey | None = None
    user: AbstractBaseUser | None = None

    @property
    def tenant_id(self) -> int:
        return self.tenant.pk

    @property
    def zone(self) -> tzinfo:
        return zoneinfo.ZoneInfo(self.tenant.timezone)

    @property
    def throttle_identity(self) -> str:
        """Rate limits count per key (or per staff user), never per store or per address."""
        if self.api_key is not None:
            return f"key:{self.api_key.prefix}"
        return f"user:{self.user.pk if self.user is not None else 'anonymous'}"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _activate(request: Request, tenant: Tenant) -> None:
    django_request = request._request
    if not hasattr(django_request, "tenant"):
        # activate_tenant_for_request relies on TenantMiddleware to restore the context afterwards.
        raise ImproperlyConfigured("API views must run behind retailsite.tenancy.middleware.TenantMiddleware")
    activate_tenant_for_request(tenant.pk)
    django_request.tenant = tenant


def _presented_key(request: Request) -> str | None:
    """The key in the Authorization (Bearer) or X-API-Key header; None when neither carries one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == BEARER:
        if not credentials.strip():
            raise exceptions.AuthenticationFailed("The Bearer token is empty.")
        return credentials.strip()
    api_key = request.META.get(API_KEY_HEADER)
    if api_key is not None:
        return api_key.strip()
    return None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiPrincipal] | None:
        raw_key = _presented_key(request)
        if raw_key is None:
            return None
        api_key = api_key_for_presented_key(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or unknown API key.")
        _activate(request, api_key.tenant)
        # Writes made with this key are attributed to it in the audit log.
        set_actor_for_request(
            Actor(
                "api_key",
                api_key.prefix,
                getattr(request._request, "request_id", ""),
                request.META.get("REMOTE_ADDR", ""),
            )
        )
        api_key_record_use(api_key=api_key)
        return AnonymousUser(), ApiPrincipal(tenant=api_key.tenant, scopes=frozenset(api_key.scopes), api_key=api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class StaffSessionAuthentication(SessionAuthentication):
    """Session auth for staff (CSRF-checked on writes), acting in their selected store."""

    def authenticate(self, request: Request) -> tuple[Any, ApiPrincipal] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        if not user.is_staff:
            return None
        memberships = memberships_for_user(user)
        if not memberships:
            raise exceptions.AuthenticationFailed("This staff account is not a member of any store.")
        membership = membership_selected_for_staff(
            user, wanted_tenant_id=request._request.session.get(SESSION_TENANT_KEY), memberships=memberships
        )
        if membership is None:
            raise exceptions.AuthenticationFailed(
                "Choose a store in the staff admin first: the API always acts on one store."
            )
        _activate(request, membership.tenant)
        return user, ApiPrincipal(tenant=membership.tenant, scopes=scopes_for_membership(membership), user=user)
