"""Model fields that keep personal data encrypted at rest."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .crypto import TOKEN_PREFIX, decrypt, encrypt, is_under_newest_key


class EncryptedStr(str):
    """A value read from an encrypted column that remembers its stored token.

    Fernet tokens differ at every encryption, so re-encrypting an unchanged value would rewrite
    the column (and the audit log would report a change nobody made). Saving an EncryptedStr
    writes its token back as it was — if the newest key made it (after a rotation, a value read
    before it is encrypted afresh, so removing the old keys never strands it)."""

    token: str


class EncryptedValueDescriptor(DeferredAttribute):
    """Assigning the same clear text again (a form re-posting an unchanged e-mail) keeps the token."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        current = instance.__dict__.get(self.field.attname)
        if isinstance(current, EncryptedStr) and not isinstance(value, EncryptedStr) and value == current:
            return
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    """Stored as a Fernet token; read back in clear. Equality look-ups cannot work on it:
    search through a blind-index column instead."""

    description = "Encrypted text"
    descriptor_class = EncryptedValueDescriptor

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # Encrypt once, and let the instance remember the token: saving it again writes the same bytes.
        value = super().pre_save(model_instance, add)
        if value in (None, "") or isinstance(value, EncryptedStr):
            return value
        wrapped = EncryptedStr(value)
        wrapped.token = encrypt(str(value))
        model_instance.__dict__[self.attname] = wrapped
        return wrapped

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        if isinstance(value, EncryptedStr) and is_under_newest_key(value.token):
            return value.token
        return encrypt(str(value))  # new, changed, or read before a key rotation: encrypt under the newest key

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return value
        if not value.startswith(TOKEN_PREFIX):
            return value  # written before encryption: a plain str, so the next save encrypts it
        clear = EncryptedStr(decrypt(value))
        clear.token = value
        return clear
