"""Write-side operations of the partner API's own data: API keys (commerce writes: retailsite.commerce.services).

Every function runs as the current tenant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from retailsite.commerce.importers.fields import column_max_length
from retailsite.tenancy.context import require_tenant_id

from . import selectors
from .keys import compose_key, generate_prefix, hash_key
from .models import ApiKey
from .scopes import parse_scopes

# last_used_at is written at most this often per key (one UPDATE per minute, not per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_KEY_NAME_LENGTH = column_max_length(ApiKey, "name")

# -- API keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedApiKey:
    """A newly created key. `raw_key` exists only here: show it once, it is not stored."""

    api_key: ApiKey
    raw_key: str


def api_key_create(*, name: str, scopes: Iterable[str], created_by: AbstractBaseUser | None = None) -> IssuedApiKey:
    """Issue a key for the current store. Raises UnknownScope (a ValueError) for bad scopes."""
    require_tenant_id()
    clean_scopes = parse_scopes(scopes)
    clean_name = name.strip()
    if not clean_name or len(clean_name) > MAX_KEY_NAME_LENGTH:
        raise ValueError(f"a key needs a name of 1 to {MAX_KEY_NAME_LENGTH} characters")
    prefix = generate_prefix()
    while selectors.api_key_prefix_in_use(prefix):  # 48 random bits: practically never loops
        prefix = generate_prefix()
    raw_key = compose_key(prefix)
    api_key = ApiKey.objects.create(
        name=clean_name, prefix=prefix, secret_hash=hash_key(raw_key), scopes=clean_scopes, created_by=created_by
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key for good (idempotent); requests with it are refused from now on."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_record_use(*, api_key: ApiKey, now: datetime | None = None) -> None:
    """Remember that the key was used, at most once per LAST_USED_RESOLUTION."""
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
