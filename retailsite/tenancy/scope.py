"""Tags that prove a database setting was set by this application, not by any session of its role.

The application role can set any `app.*` setting, so a setting alone cannot open the platform scope
or name the actor of an audit entry. The application tags both with a key the database holds in a
table only the platform role reads (`rls.install_scope_key`); SECURITY DEFINER functions owned by
that role recompute the tag. The tag is sha256(key || sha256(key || message)), hex — the same in
SQL (`tenancy_scope_tag`) and here.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from django.conf import settings

PLATFORM_MESSAGE = "platform"
FIELD_SEPARATOR = "\x1f"


@functools.cache
def _key_for(configured: str, secret_key: str) -> bytes:
    if configured:
        return hashlib.sha256(configured.encode()).digest()
    return hmac.new(secret_key.encode(), b"retailsite.database-scope-key", hashlib.sha256).digest()


def scope_key() -> bytes:
    """`DATABASE_SCOPE_KEY` if set, else derived from SECRET_KEY (32 bytes either way)."""
    return _key_for(settings.DB_SCOPE_KEY, settings.SECRET_KEY)


def scope_tag(message: str) -> str:
    key = scope_key()
    inner = hashlib.sha256(key + message.encode("utf-8")).digest()
    return hashlib.sha256(key + inner).hexdigest()


def platform_tag() -> str:
    return scope_tag(PLATFORM_MESSAGE)


def actor_tag(actor: str, request_id: str, client_ip: str) -> str:
    return scope_tag(FIELD_SEPARATOR.join(("actor", actor, request_id, client_ip)))
