"""Partner API keys: per-tenant credentials with scopes, stored hashed.

A key looks like `rsk_<prefix>_<secret>`. The prefix is public (shown in lists, used to
find the row); only a SHA-256 digest of the whole key is stored. The secret carries 256
random bits, so a plain digest cannot be brute-forced and needs no server-side pepper
(which would tie every key to SECRET_KEY rotation).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from retailsite.tenancy.models import TenantOwnedModel


class ApiKey(TenantOwnedModel):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "prefix"], name="apikey_tenant_prefix_uniq")]
        # Authentication looks a key up by its prefix before the tenant is known (the prefix
        # is drawn at random and checked to be unused across every store when issued).
        indexes = [models.Index(fields=["prefix"], name="apikey_prefix_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
