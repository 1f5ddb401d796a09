"""Application-level encryption of personal data, and keyed hashes for look-ups (blind indexes).

Keys come from the environment: FIELD_ENCRYPTION_KEYS (comma-separated Fernet keys, newest
first; older keys still decrypt until `rotate_encryption_keys` has re-encrypted everything)
and BLIND_INDEX_KEY. In DEBUG without them, keys are derived from SECRET_KEY so the demo runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

# `cryptography` is imported by the functions that encrypt or decrypt, not here: the models import this module,
# so every manage.py command would load it at start.

TOKEN_PREFIX = "enc1:"


def _derived_key(purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{settings.SECRET_KEY}".encode()).digest()


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()]
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set when DEBUG is off.")
        keys = [base64.urlsafe_b64encode(_derived_key("field-encryption")).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid Fernet key: {error}") from None


def is_under_newest_key(token: str) -> bool:
    """Whether the token was made with the first (newest) key, so it survives removing the older ones."""
    if not token.startswith(TOKEN_PREFIX):
        return False
    from cryptography.fernet import InvalidToken

    try:
        _fernet()._fernets[0].decrypt(token[len(TOKEN_PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


@lru_cache(maxsize=1)
def _blind_index_key() -> bytes:
    if settings.BLIND_INDEX_KEY:
        return settings.BLIND_INDEX_KEY.encode()
    if not settings.DEBUG:
        raise ImproperlyConfigured("BLIND_INDEX_KEY must be set when DEBUG is off.")
    return _derived_key("blind-index")


def encryption_keys_require() -> None:
    """Raise ImproperlyConfigured now, before anything is written, if personal data could not be encrypted later."""
    _fernet()
    _blind_index_key()


def reset_key_cache() -> None:
    """Forget cached keys (after the settings change, e.g. in tests of rotation)."""
    _fernet.cache_clear()
    _blind_index_key.cache_clear()


def encrypt(value: str) -> str:
    return TOKEN_PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token.startswith(TOKEN_PREFIX):
        return token  # written before encryption was enabled; re-encrypted on rotation
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token[len(TOKEN_PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A personal-data field cannot be decrypted with FIELD_ENCRYPTION_KEYS (was a key removed too early?)"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token (or a clear value) under the newest key."""
    if not token:
        return token
    if not token.startswith(TOKEN_PREFIX):
        return encrypt(token)
    return TOKEN_PREFIX + _fernet().rotate(token[len(TOKEN_PREFIX) :].encode()).decode()


def blind_index(value: str) -> str:
    """Keyed hash of a normalized value: equal inputs match, the value cannot be recovered."""
    normalized = value.strip().lower()
    if not normalized:
        return ""
    return hmac.new(_blind_index_key(), normalized.encode(), hashlib.sha256).hexdigest()
