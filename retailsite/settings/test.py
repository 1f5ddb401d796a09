"""Test settings: the real PostgreSQL and Redis (defaults: the local servers)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/retailsite")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405

# Fixed test keys (DEBUG is off under pytest, where keys are required).
FIELD_ENCRYPTION_KEYS = ["pvH2Dq6oK1n0m7OqVq3o7Hq0y0mB0u2qzYkqz0Zb7xM="]
BLIND_INDEX_KEY = "test-blind-index-key-not-secret"
