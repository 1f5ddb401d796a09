"""Test settings: the real PostgreSQL and Redis (defaults: the local servers)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/retailsite")
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
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# Fixed test keys (DEBUG is off in the suite, where keys are required).
FIELD_ENCRYPTION_KEYS = ["pvH2Dq6oK1n0m7OqVq3o7Hq0y0mB0u2qzYkqz0Zb7xM="]
BLIND_INDEX_KEY = "test-blind-index-key-not-secret"
