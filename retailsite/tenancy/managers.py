"""Tenant-scoped managers: they filter by the current tenant and fail closed without one."""

from __future__ import annotations

from typing import Any

from django.db import models

from .context import current_tenant_id, is_platform_scope, require_tenant_id


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant_id: int) -> TenantQuerySet:
        return self.filter(tenant_id=tenant_id)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager of every tenant-owned model.

    With a tenant set: only that tenant's rows. In platform scope: every row (explicit
    opt-in). Otherwise it raises TenantContextMissing rather than return all tenants.
    """

    def get_queryset(self) -> TenantQuerySet:
        queryset = super().get_queryset()
        if is_platform_scope():
            return queryset
        return queryset.filter(tenant_id=require_tenant_id())

    def create(self, **kwargs: Any) -> Any:
        if "tenant" not in kwargs and "tenant_id" not in kwargs and current_tenant_id() is not None:
            kwargs["tenant_id"] = current_tenant_id()
        return super().create(**kwargs)
