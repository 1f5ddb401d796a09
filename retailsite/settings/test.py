"""Test settings: the real PostgreSQL (DATABASE_URL; `make test` starts the embedded one when it is unset) and
Redis (default: the local server)."""

import os

from django.core.exceptions import ImproperlyConfigured

if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: run `make test` (it starts the embedded PostgreSQL for the run), or set "
        "DATABASE_URL=postgres://USER@HOST:5432/NAME."
    )
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")
# DEBUG is off by default (as in production), so the suite brings its own secret.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405

# Fixed test keys (DEBUG is off in the suite, where keys are required).
FIELD_ENCRYPTION_KEYS = ["pvH2Dq6oK1n0m7OqVq3o7Hq0y0mB0u2qzYkqz0Zb7xM="]
BLIND_INDEX_KEY = "test-blind-index-key-not-secret"
