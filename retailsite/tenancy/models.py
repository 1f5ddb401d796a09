"""Tenants (stores), their mapped domains, staff memberships with roles, invitations to them, and per-store
counters."""

from __future__ import annotations

import secrets
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from .context import current_tenant_id
from .managers import TenantManager

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1-50 lowercase letters, digits and hyphens, not starting or ending with a hyphen.",
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'.")


def validate_currency(value: str) -> None:
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValidationError(f"Currency {value!r} must be a three-letter ISO 4217 code such as 'EUR'.")


class Tenant(models.Model):
    """A store. Everything a store owns carries its id (see TenantOwnedModel)."""

    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # Validated per key by retailsite.tenancy.settings_registry; read with Tenant.setting().
    settings = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    def setting(self, key: str) -> Any:
        """The tenant's value for a registered setting, or its default."""
        from .settings_registry import get_setting_value

        return get_setting_value(self, key)


class TenantOwnedModel(models.Model):
    """Base of every tenant-owned table: tenant first in keys and indexes, RLS in PostgreSQL."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", editable=False)

    objects = TenantManager()
    all_objects = models.Manager()  # noqa: DJ012 - unscoped, still bound by row-level security

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.tenant_id is None and current_tenant_id() is not None:
            self.tenant_id = current_tenant_id()
        super().save(*args, **kwargs)


def new_domain_verification_token() -> str:
    return secrets.token_hex(16)


class TenantDomain(TenantOwnedModel):
    """A custom domain that serves a tenant's storefront (e.g. shop.example.com) once the store proved it
    controls it: a DNS TXT record carrying `verification_token` (see domains.py)."""

    domain = models.CharField(max_length=253, unique=True)
    verification_token = models.CharField(max_length=64, default=new_domain_verification_token, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="served only once verified")

    class Meta:
        indexes = [models.Index(fields=["tenant", "domain"])]

    def __str__(self) -> str:
        return self.domain


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    ANALYST = "analyst", "Analyst"
    VIEWER = "viewer", "Viewer"


class Membership(TenantOwnedModel):
    """A staff user's role in one store."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_uniq")]

    def __str__(self) -> str:
        return f"{self.user} — {self.role}"


def new_invitation_token() -> str:
    return secrets.token_urlsafe(24)


class Invitation(TenantOwnedModel):
    """An owner's offer of a role in the store to whoever signs in as `invitee` (a username or an e-mail address).

    Only the invited user's acceptance creates a Membership (services.invitation_accept). The row exists whatever
    the invitee is (no account, an account, already a member), so the owner learns nothing about platform accounts.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        REVOKED = "revoked", "Revoked"

    invitee = models.CharField(max_length=254, help_text="username or e-mail address, as the owner typed it")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    # The invitee's handle on it (never the primary key): a random token, single-use through `status`.
    token = models.CharField(max_length=64, unique=True, default=new_invitation_token, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(editable=False)
    responded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"], name="invitation_tenant_status_idx")]

    def __str__(self) -> str:
        return f"{self.invitee} as {self.get_role_display()}"


class TenantCounter(TenantOwnedModel):
    """The last number a store handed out for one kind of document (e.g. its purchase orders: PO-000001, ...).

    Numbers count per store, so a store's numbers tell nothing about other stores' volumes (a global sequence
    would); `services.tenant_counter_next` allocates them under the row's lock."""

    name = models.CharField(max_length=40)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="tenantcounter_tenant_name_uniq")]

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class TrainingRun(TenantOwnedModel):
    """One run of a training step (recommendations, forecasts, inventory) for a store.

    The scheduler reads these to decide what is due; staff read them to see what ran and why
    something failed. Each step keeps its own versioned results (model versions, forecast runs,
    plans); a failed run never replaces the active one.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    step = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=20, default="manual")  # manual, schedule, chain, erasure
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["tenant", "step", "-started_at"], name="trainingrun_tenant_step_idx")]

    def __str__(self) -> str:
        return f"{self.step} {self.status} {self.started_at:%Y-%m-%d %H:%M}"
