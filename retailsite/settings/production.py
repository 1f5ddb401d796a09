"""Hardened settings for deployment: DEBUG off, HTTPS only, secure cookies, HSTS.

Passes `manage.py check --deploy` with no warnings when SECRET_KEY is a real secret. Refuses to start
without FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "False")

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BLIND_INDEX_KEY, FIELD_ENCRYPTION_KEYS, env

DEBUG = False
# Personal data is never encrypted under keys derived from SECRET_KEY in production: refuse to start.
_missing = [
    name
    for name, value in (("FIELD_ENCRYPTION_KEYS", FIELD_ENCRYPTION_KEYS), ("BLIND_INDEX_KEY", BLIND_INDEX_KEY))
    if not value
]
if _missing:
    raise ImproperlyConfigured(
        f"{' and '.join(_missing)} must be set under the production settings (see docs/privacy.md, 'Keys')."
    )
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # plain-HTTP probes and scrapes
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
