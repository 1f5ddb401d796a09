"""The format of API keys: generation, parsing and hashing (no database access here).

rsk_<prefix>_<secret>
prefix: 12 lowercase hex characters, public, used to find the key's row;
secret: 43 URL-safe characters (256 random bits), never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_MARKER = "rsk_"
PREFIX_LENGTH = 12
_KEY_PATTERN = re.compile(rf"^{KEY_MARKER}([0-9a-f]{{{PREFIX_LENGTH}}})_([A-Za-z0-9_-]{{43}})$")


def generate_prefix() -> str:
    return secrets.token_hex(PREFIX_LENGTH // 2)


def compose_key(prefix: str) -> str:
    """A new full key with the given prefix and a fresh 256-bit secret."""
    return f"{KEY_MARKER}{prefix}_{secrets.token_urlsafe(32)}"


def key_parts(raw_key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, or None. Fixed lengths: the secret may itself contain "_"."""
    match = _KEY_PATTERN.match(raw_key)
    return (match.group(1), match.group(2)) if match else None


def key_prefix(raw_key: str) -> str | None:
    """The prefix of a well-formed key, or None when the text is not one of our keys."""
    parts = key_parts(raw_key)
    return parts[0] if parts else None


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def key_matches(raw_key: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented key with a stored digest."""
    return hmac.compare_digest(hash_key(raw_key), stored_hash)
