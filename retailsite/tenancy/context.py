"""The current tenant, held in a context variable.

One way in: `tenant_context(tenant)` for work on one store, `platform_context()` for the
rare platform-wide job that must see every store. The PostgreSQL backend reads
`current_tenant_id()` / `is_platform_scope()` before each query and applies them with
`set_config(..., true)`, so the database enforces the same scope (row-level security).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Tenant


class TenantContextMissing(RuntimeError):
    """Tenant-owned data was touched with no tenant set (fail closed)."""


_tenant_id: ContextVar[int | None] = ContextVar("tenant_id", default=None)
_platform_scope: ContextVar[bool] = ContextVar("platform_scope", default=False)


def current_tenant_id() -> int | None:
    return _tenant_id.get()


def is_platform_scope() -> bool:
    return _platform_scope.get()


def require_tenant_id() -> int:
    tenant_id = _tenant_id.get()
    if tenant_id is None:
        raise TenantContextMissing(
            "No tenant is set. Wrap the work in tenant_context(tenant) "
            "(or platform_context() for a deliberate platform-wide job)."
        )
    return tenant_id


@contextmanager
def tenant_context(tenant: Tenant | int) -> Iterator[int]:
    """Run the enclosed code as `tenant` (a Tenant or its id). Nests and restores."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    if tenant_id is None:
        raise ValueError("tenant_context needs a saved tenant")
    token = _tenant_id.set(int(tenant_id))
    platform_token = _platform_scope.set(False)
    try:
        yield int(tenant_id)
    finally:
        _platform_scope.reset(platform_token)
        _tenant_id.reset(token)


@contextmanager
def platform_context() -> Iterator[None]:
    """Explicit opt-in for platform-wide work (superuser admin, verifiers, fan-out jobs)."""
    token = _tenant_id.set(None)
    platform_token = _platform_scope.set(True)
    try:
        yield
    finally:
        _platform_scope.reset(platform_token)
        _tenant_id.reset(token)


@contextmanager
def no_tenant_context() -> Iterator[None]:
    """Clear any tenant and actor (used by middleware around each request, and by tests)."""
    token = _tenant_id.set(None)
    platform_token = _platform_scope.set(False)
    actor_token = _actor.set(None)
    try:
        yield
    finally:
        _actor.reset(actor_token)
        _platform_scope.reset(platform_token)
        _tenant_id.reset(token)


def activate_tenant_for_request(tenant_id: int) -> None:
    """Set the tenant for the rest of the current request (API authentication uses this).

    Only valid inside TenantMiddleware, which restores the previous value when the
    request ends, so nothing leaks into the next request on this thread.
    """
    _tenant_id.set(int(tenant_id))
    _platform_scope.set(False)


# -- who is acting (for the audit log) ------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who causes the current database work: a staff user, an API key, a shopper or a system task."""

    kind: str  # "user", "api_key", "shopper", "system", "anonymous"
    identifier: str = ""  # user id, key prefix, customer id, task name
    request_id: str = ""
    client_ip: str = ""

    def as_setting(self) -> str:
        return f"{self.kind}:{self.identifier}"


_actor: ContextVar[Actor | None] = ContextVar("actor", default=None)


def current_actor() -> Actor | None:
    return _actor.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute the enclosed database work to `actor` (the backend passes it to PostgreSQL as
    app.actor / app.request_id / app.client_ip so audit triggers can record it)."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def set_actor_for_request(actor: Actor) -> None:
    """Like acting_as, for the rest of a request (authentication sets it; the middleware restores)."""
    _actor.set(actor)
