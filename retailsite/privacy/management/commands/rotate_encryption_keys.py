"""manage.py rotate_encryption_keys — re-encrypt personal data under the newest key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from retailsite.privacy.services import encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every customer's personal fields with the first key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then remove the old keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = encryption_keys_rotate(progress=lambda slug, n: self.stdout.write(f"{slug}: {n} customers"))
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} customers under the newest key."))
