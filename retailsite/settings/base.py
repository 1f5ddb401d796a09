"""Project settings, read from the environment (django-environ).

DEBUG is off unless DJANGO_DEBUG says otherwise (the demo and local development set it); with
DEBUG off, SECRET_KEY is required. See README "Configuration" for the full list.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DJANGO_DEBUG is off (DEBUG is off unless DJANGO_DEBUG=True is set; "
            "the demo and local development set it)."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Addresses of the reverse proxies whose X-Request-ID is trusted (written into the audit log); empty: none.
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=[])
# The platform's own host names (admin, API, /s/<slug>/): never mappable to a store, nor served as one.
PLATFORM_HOSTS = env.list("PLATFORM_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])

INSTALLED_APPS = [
    "retailsite.admin_site.LazyAdminConfig",  # django.contrib.admin, its modules loaded on first use
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "retailsite.tenancy",
    "retailsite.commerce",
    "retailsite.privacy",
    "retailsite.api",
    "retailsite.storefront",
    "recommendations",
    "forecasting",
    "inventory",
    "experiments",
    "webhooks",
    "imports",
    "corsheaders",
    "browser",
]

MIDDLEWARE = [
    "retailsite.observability.middleware.RequestMetricsMiddleware",
    # CORS for /api/v1/browser/ only, and there only for a publishable key's own origins (browser/selectors.py).
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "retailsite.privacy.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Resolves the tenant (path, domain or staff membership) and runs the request in one
    # transaction so PostgreSQL row-level security sees the tenant on every query.
    "retailsite.tenancy.middleware.TenantMiddleware",
]

ROOT_URLCONF = "retailsite.urls"
WSGI_APPLICATION = "retailsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "retailsite.tenancy.context_processors.tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# PostgreSQL only (row-level security, audit triggers, COPY, full-text search). Without a server of your own,
# `make demo`, `make test` and `./manage` use the embedded one in var/postgres (retailsite/tools/embedded_db.py).
if not env.str("DATABASE_URL", default=""):
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. Run commands through ./manage (it uses the demo's embedded PostgreSQL), "
        "or set DATABASE_URL=postgres://USER@HOST:5432/NAME."
    )
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL; PostgreSQL is the only database supported.")
# Our backend re-applies the tenant setting (set_config(..., true)) inside each transaction.
DATABASES["default"]["ENGINE"] = "retailsite.tenancy.backends.postgresql"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Optional: connect as a login role but act as the application role (SET ROLE).
DATABASES["default"]["SET_ROLE"] = env.str("DATABASE_SET_ROLE", default="")
# Prepared statements for the few hot queries that ask for them (recommendations serving); off by
# default as in Django, since a transaction-pooling PgBouncer older than 1.21 cannot carry them.
prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=None)
if prepare_threshold is not None:
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = prepare_threshold
test_name = env.str("DATABASE_TEST_NAME", default="")
if test_name:
    DATABASES["default"]["TEST"] = {"NAME": test_name}

# Personal data encryption (Fernet keys, newest first) and the blind-index key; see docs/privacy.md.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY", default="")

DB_APP_ROLE = env.str("DATABASE_APP_ROLE", default="retail_app")
DB_OWNER_ROLE = env.str("DATABASE_OWNER_ROLE", default="retail_owner")
# Owns the few SECURITY DEFINER functions that may see every store (audit sealing, the platform-scope
# check); never a login role, and the application role is never a member (docs/tenancy.md).
DB_PLATFORM_ROLE = env.str("DATABASE_PLATFORM_ROLE", default="retail_platform")
# Key of the tags that prove a platform scope or an audit actor was set by this application, not by
# any session of its role (docs/tenancy.md). Installed in the database by every migrate.
DB_SCOPE_KEY = env.str("DATABASE_SCOPE_KEY", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis backend, reusing one client per pool instead of building one per operation.
            "BACKEND": "retailsite.safe_cache.RedisCache",
            "LOCATION": REDIS_URL,
            "TIMEOUT": 3600,
            "KEY_PREFIX": "retailsite",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "retailsite"}}

# The queues may live in their own Redis (persistent, noeviction) apart from the cache (evicting); by default one.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "light"
CELERY_TASK_ROUTES = {"*.train_*": {"queue": "training"}}
# Longer than the longest task's hard time limit, so Redis never re-delivers a running task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_TASK_TIME_LIMIT = 3 * 3600
CELERY_TASK_SOFT_TIME_LIMIT = 3 * 3600 - 300
CELERY_TIMEZONE = "UTC"
CELERY_IMPORTS = ["retailsite.observability.celery_metrics"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING (JSON in production)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False  # a retrain survives a Redis blip
CELERY_BEAT_SCHEDULE: dict = {
    # Fans out one task per tenant and due step (retrain, forecasts; inventory is chained after forecasts).
    "schedule-due-training": {"task": "retailsite.tenancy.tasks.schedule_due_training", "schedule": 600.0},
    # Safety nets for the writes buffered in Redis (retailsite/buffered_writes.py; a flush is also queued when a
    # buffer fills from empty): storefront events and experiment exposures.
    "flush-buffered-events": {"task": "retailsite.storefront.tasks.events_buffer_flush", "schedule": 30.0},
    "flush-buffered-exposures": {"task": "experiments.tasks.exposures_buffer_flush", "schedule": 30.0},
    # Expired personal data per tenant: raw events and exposures (event_retention_days), sync deletion entries.
    "purge-expired-events": {"task": "retailsite.privacy.tasks.purge_expired_events", "schedule": 86400.0},
    # Webhook deliveries whose task was lost (broker restart, worker killed) are queued again.
    "sweep-webhook-deliveries": {"task": "webhooks.tasks.sweep_webhook_deliveries", "schedule": 300.0},
}
# Webhook URLs resolving to private, loopback or reserved addresses are refused (SSRF) unless this is on
# (tests and local development with a receiver on this machine).
WEBHOOKS_ALLOW_PRIVATE_URLS = env.bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=False)

# Browser integration (publishable keys): CORS is answered on these paths only, per key (no global origin).
CORS_URLS_REGEX = r"^/api/v1/browser/.*$"
CORS_ALLOWED_ORIGINS: list[str] = []
PUBLISHABLE_KEY_RATE_LIMIT = env.str("PUBLISHABLE_KEY_RATE_LIMIT", default="6000/min")
VISITOR_RATE_LIMIT = env.str("VISITOR_RATE_LIMIT", default="120/min")

# --- Auth, i18n, static ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "retailsite" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Partner API (retailsite/api): the credential sets the tenant; scopes per HTTP method; one
    # JSON error shape; page size capped at 200. These defaults make any DRF view fail closed.
    "DEFAULT_PAGINATION_CLASS": "retailsite.api.pagination.CappedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "retailsite.api.authentication.ApiKeyAuthentication",
        "retailsite.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["retailsite.api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["retailsite.api.throttling.CredentialRateThrottle"],
    # Requests per API key (or staff user): "<n>/<sec|min|hour|day>".
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_LIMIT", default="1200/min")},
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "retailsite.api.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Retail personalization partner API",
    "DESCRIPTION": "Per-store REST API. Authenticate with a store's API key (`Authorization: Bearer rsk_...`); "
    'every error has the shape {"error": {"code", "message", "fields"}}. See docs/api.md.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs are public and never touch store data.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI and Redoc from the drf-spectacular-sidecar package, served locally (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "retailsite.api.schema.add_error_responses",
    ],
}

# Import: how many bad lines an import lists before it stops collecting.
IMPORT_MAX_REPORTED_ERRORS = 100

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "retailsite.observability.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "retailsite.observability.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
