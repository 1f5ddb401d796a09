"""Test setup: the real PostgreSQL, with the suite acting as the application role.

The test database is created and migrated by the connecting superuser (tables owned by
it), then every connection switches to the application role with SET ROLE, which is
not superuser, has no BYPASSRLS and owns nothing: row-level security is enforced in every
test, so a code path that forgets the tenant context fails here as it would in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import factory.random
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from retailsite.safe_cache import forget_recent
from retailsite.tenancy.context import no_tenant_context
from retailsite.tenancy.selectors import clear_domain_cache, clear_tenant_cache


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from retailsite.commerce.search import text_hits_secure
    from retailsite.privacy.triggers import install_audit_triggers
    from retailsite.tenancy.rls import apply_rls, create_roles

    with django_db_blocker.unblock():
        create_roles(
            owner_role=settings.DB_OWNER_ROLE,
            app_role=settings.DB_APP_ROLE,
            app_password=None,
            owner_password=None,
            database=connection.settings_dict["NAME"],
        )
        apply_rls()  # also grants the app role access to the freshly migrated tables
        install_audit_triggers()  # the roles exist now: the platform role takes over the sealing functions
        with connection.cursor() as cursor:  # and the search's text-hits function, as migrating after roles does
            text_hits_secure(cursor.cursor)
        connection.settings_dict["SET_ROLE"] = settings.DB_APP_ROLE
        settings.DATABASES["default"]["SET_ROLE"] = settings.DB_APP_ROLE
        connection.close()
    yield
    with django_db_blocker.unblock():
        # Dropping the test database needs the login (owning) role again.
        connection.settings_dict["SET_ROLE"] = ""
        settings.DATABASES["default"]["SET_ROLE"] = ""
        connection.close()


@pytest.fixture(autouse=True)
def _same_fake_data_every_run() -> None:
    # Factory values (Faker names, e-mails) are the same in every run and whatever ran before, so no
    # test passes or fails by the luck of a generated name.
    factory.random.reseed_random("retailsite-tests")


@pytest.fixture(autouse=True)
def _clean_tenant_context() -> Iterator[None]:
    with no_tenant_context():
        yield


def join_background_training() -> None:
    """Wait for the retrains queued in the background (an erasure's; with eager Celery they run in a thread,
    `retailsite/tenancy/tasks.py`)."""
    for thread in threading.enumerate():
        if thread.name.startswith("train-"):
            thread.join(timeout=120)


@pytest.fixture(autouse=True)
def _background_training_done() -> Iterator[None]:
    # Before the test's database is rolled back or flushed (pytest-django's fixture ends after this one): a retrain
    # still reading the store while a transactional test's tables are truncated deadlocks the flush.
    yield
    join_background_training()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    # The in-process store look-ups too: a rolled-back test's stores send no signal when they vanish.
    cache.clear()
    forget_recent()
    clear_tenant_cache()
    clear_domain_cache()
    yield


@pytest.fixture
def write_buffers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    """Buffered writes (retailsite/buffered_writes.py) switched on against the test Redis — the test settings run
    Celery eagerly, which buffers nothing. The flushes a buffer queues are recorded by its name, not sent."""
    import redis

    from retailsite import buffered_writes

    client = redis.Redis.from_url(settings.REDIS_URL)

    def clear() -> None:
        for suffix in ("buffer", "processing", "flush-lock"):
            for key in client.scan_iter(f"retailsite:*:{suffix}"):
                client.delete(key)

    clear()
    queued: list[str] = []
    monkeypatch.setattr(buffered_writes, "broker_client", lambda: client)
    monkeypatch.setattr(buffered_writes.WriteBuffer, "queue_flush", lambda self: queued.append(self.name))
    yield client, queued
    clear()
