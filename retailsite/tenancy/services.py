"""Write-side operations on tenants, memberships, invitations and per-store counters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from .context import platform_context, require_tenant_id, tenant_context
from .models import Invitation, Membership, Role, Tenant
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


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise TenantError(f"Unknown role {role!r}. Valid roles: {', '.join(Role.values)}")


@transaction.atomic
def membership_set(*, tenant: Tenant | int, user: AbstractBaseUser, role: str) -> Membership:
    """Give `user` `role` in `tenant` directly. The platform's way (a superuser in the admin, `manage.py tenant
    member`, the demo seed) and the end of an accepted invitation; a store's owner invites instead."""
    _check_role(role)
    with tenant_context(tenant) as tenant_id:
        membership, _ = Membership.objects.update_or_create(tenant_id=tenant_id, user=user, defaults={"role": role})
    return membership


# -- invitations ---------------------------------------------------------------------------------------------------

INVITATION_LIFETIME = dt.timedelta(days=7)
INVITEE_MAX_LENGTH = 254


class InvitationError(TenantError):
    """An invitation cannot be answered; one message for every reason (unknown, not yours, used, expired)."""


INVITATION_UNAVAILABLE = "This invitation does not exist, is not addressed to you, or is no longer open."


def invitee_check(invitee: str) -> str:
    """The invitee as stored (trimmed), or TenantError: one username or e-mail address, nothing about accounts."""
    invitee = invitee.strip()
    if not invitee or len(invitee) > INVITEE_MAX_LENGTH or any(ch.isspace() for ch in invitee):
        raise TenantError(f"Give one username or e-mail address (at most {INVITEE_MAX_LENGTH} characters, no spaces).")
    return invitee


def invitation_create(
    *, invitee: str, role: str, invited_by: AbstractBaseUser | AnonymousUser | None = None
) -> Invitation:
    """Invite whoever signs in as `invitee` (a username or an e-mail address) to the current store with `role`.

    The outcome is the same whether or not such a user exists or is already a member: nothing here looks at
    the platform's users, so the owner cannot probe them. A new invitation replaces a pending one to the same
    invitee. The invitee sees it when signed in (selectors.invitations_pending_for_user) until it expires."""
    require_tenant_id()
    invitee = invitee_check(invitee)
    _check_role(role)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(invitee__iexact=invitee, status=Invitation.Status.PENDING).update(
            status=Invitation.Status.REVOKED, responded_at=now
        )
        return Invitation.objects.create(
            invitee=invitee,
            role=role,
            invited_by=invited_by if invited_by is not None and invited_by.is_authenticated else None,
            expires_at=now + INVITATION_LIFETIME,
        )


def invitation_revoke(*, invitation: Invitation) -> bool:
    """Withdraw a pending invitation of the current store; False if it was no longer pending."""
    return bool(
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.PENDING).update(
            status=Invitation.Status.REVOKED, responded_at=timezone.now()
        )
    )


def invitation_is_for(invitation: Invitation, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` is the one invited: the username exactly, or the account's e-mail address (any case)."""
    if not user.is_authenticated or not user.is_active:
        return False
    email = (getattr(user, "email", "") or "").strip()
    return invitation.invitee == user.get_username() or (bool(email) and invitation.invitee.lower() == email.lower())


@transaction.atomic
def _invitation_answer(*, token: str, user: AbstractBaseUser | AnonymousUser, status: str) -> Invitation:
    """Mark the user's open invitation `status`, once: it is locked, checked and updated in its store's context
    (so the change is audited in that store's log, by this user)."""
    with platform_context():  # the invitee is not (yet) a member: find the store the invitation belongs to
        tenant_id = Invitation.objects.filter(token=token).values_list("tenant_id", flat=True).first()
    if tenant_id is None:
        raise InvitationError(INVITATION_UNAVAILABLE)
    with tenant_context(tenant_id):
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("tenant").get(token=token)
        if (
            invitation.status != Invitation.Status.PENDING
            or invitation.expires_at <= timezone.now()
            or not invitation.tenant.is_active
            or not invitation_is_for(invitation, user)
        ):
            raise InvitationError(INVITATION_UNAVAILABLE)
        invitation.status = status
        invitation.responded_at = timezone.now()
        invitation.save(update_fields=["status", "responded_at"])
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: AbstractBaseUser | AnonymousUser) -> Membership:
    """The invited user accepts: the invitation is used up and they get its role in its store."""
    invitation = _invitation_answer(token=token, user=user, status=Invitation.Status.ACCEPTED)
    if not isinstance(user, AbstractBaseUser):  # _invitation_answer refused anyone not signed in
        raise InvitationError(INVITATION_UNAVAILABLE)
    return membership_set(tenant=invitation.tenant_id, user=user, role=invitation.role)


def invitation_decline(*, token: str, user: AbstractBaseUser | AnonymousUser) -> Invitation:
    """The invited user declines: the invitation is used up and nothing else changes."""
    return _invitation_answer(token=token, user=user, status=Invitation.Status.DECLINED)


# -- per-store numbering -------------------------------------------------------------------------------------------


def tenant_counter_next(name: str, *, count: int = 1) -> int:
    """Reserve the next `count` numbers of the current store's counter `name`; returns the last one reserved.

    One statement: the first use inserts the row, later ones add to it under the row lock that the upsert
    takes, so concurrent callers get distinct numbers (the second waits for the first to commit or roll back;
    a rollback gives its numbers back). Never max()+1, never a database sequence (shared by every store)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenancy_tenantcounter (tenant_id, name, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant_id, name) DO UPDATE SET value = tenancy_tenantcounter.value + EXCLUDED.value "
            "RETURNING value",
            [tenant_id, name, count],
        )
        (value,) = cursor.fetchone()
    return int(value)
