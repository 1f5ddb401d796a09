"""Readiness names the dependency that is down; liveness stays trivial."""

from __future__ import annotations

import pytest

from .conftest import closed_port

pytestmark = pytest.mark.django_db


def test_readyz_is_ok_when_database_cache_and_broker_answer(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert set(body["checks"]) == {"database", "cache", "broker"}


def test_readyz_answers_503_naming_the_cache_when_redis_is_unreachable(client, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"]["cache"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_readyz_answers_503_naming_the_broker_when_it_is_unreachable(client, settings) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_healthz_does_not_depend_on_the_cache(client, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
