"""Write-side operations on tenants and memberships."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from .context import tenant_context
from .models import Membership, Role, Tenant
from .settings_registry import TenantSettingError, lookup_setting, parse_assignments


class TenantError(ValueError):
    """A tenant operation was refused; the message says why."""


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


@transaction.atomic
def tenant_create(
    *, slug: str, name: str, currency: str = "USD", timezone: str = "UTC", settings: dict[str, Any] | None = None
) -> Tenant:
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantError(f"A tenant with slug {slug!r} already exists.")
    checked = {key: lookup_setting(key).parse(value) for key, value in (settings or {}).items()}
    tenant = Tenant(slug=slug, name=name, currency=currency, timezone=timezone, settings=checked)
    try:
        tenant.full_clean()
    except ValidationError as error:
        raise TenantError(_validation_message(error)) from None
    tenant.save()
    return tenant


@transaction.atomic
def tenant_update(
    *, tenant: Tenant, name: str | None = None, currency: str | None = None, timezone: str | None = None
) -> Tenant:
    for field, value in (("name", name), ("currency", currency), ("timezone", timezone)):
        if value is not None:
            setattr(tenant, field, value)
    try:
        tenant.full_clean()
    except ValidationError as error:
        raise TenantError(_validation_message(error)) from None
    tenant.save()
    return tenant


@transaction.atomic
def tenant_settings_set(*, tenant: Tenant, assignments: list[str]) -> dict[str, Any]:
    """Apply `KEY=VALUE` assignments; all are validated before any is saved."""
    try:
        parsed = parse_assignments(assignments)
    except TenantSettingError as error:
        raise TenantError(str(error)) from None
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    tenant.settings = {**tenant.settings, **parsed}
    tenant.save(update_fields=["settings"])
    return parsed


@transaction.atomic
def membership_set(*, tenant: Tenant, user: AbstractBaseUser, role: str) -> Membership:
    if role not in Role.values:
        raise TenantError(f"Unknown role {role!r}. Valid roles: {', '.join(Role.values)}")
    with tenant_context(tenant):
        membership, _ = Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role})
    return membership
