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
    """Clear any tenant (used by middleware between requests and by tests)."""
    token = _tenant_id.set(None)
    platform_token = _platform_scope.set(False)
    try:
        yield
    finally:
        _platform_scope.reset(platform_token)
        _tenant_id.reset(token)


def activate_tenant_for_request(tenant_id: int) -> None:
    """Set the tenant for the rest of the current request (API authentication uses this).

    Only valid inside TenantMiddleware, which restores the previous value when the
    request ends, so nothing leaks into the next request on this thread.
    """
    _tenant_id.set(int(tenant_id))
    _platform_scope.set(False)
