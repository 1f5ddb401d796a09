"""Fixtures for the partner API tests: two stores, keys with chosen scopes, authenticated clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pytest
from django.urls import URLPattern, URLResolver
from rest_framework.test import APIClient

from retailsite.api.scopes import ALL_SCOPES
from retailsite.api.services import api_key_create
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import TenantFactory


def issue_key(tenant: Tenant, scopes: Iterable[str] = ALL_SCOPES, name: str = "test key") -> str:
    with tenant_context(tenant):
        return api_key_create(name=name, scopes=scopes).raw_key


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def store_a() -> Tenant:
    return TenantFactory(slug="alpha", name="Alpha", timezone="Europe/Paris")


@pytest.fixture
def store_b() -> Tenant:
    return TenantFactory(slug="beta", name="Beta", timezone="America/New_York")


@pytest.fixture
def client_for(store_a: Tenant) -> Callable[..., APIClient]:
    """client_for(scopes=..., tenant=...) -> an APIClient sending a fresh key of that store."""

    def make(scopes: Iterable[str] = ALL_SCOPES, tenant: Tenant | None = None) -> APIClient:
        return key_client(issue_key(tenant or store_a, scopes))

    return make


@pytest.fixture
def api(client_for: Callable[..., APIClient]) -> APIClient:
    """A client with every scope of store A."""
    return client_for()


def assert_error(response, status: int, code: str) -> dict:
    """The response is the API's one error shape with this status and code; returns the error object."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]


def sync_drain(client: APIClient, url: str) -> tuple[list[dict], str | None]:
    """Follow a sync feed's `next` until it has nothing more; the rows and the cursor to resume from."""
    rows: list[dict] = []
    cursor = None
    while url:
        body = client.get(url).json()
        rows += body["results"]
        cursor = body["cursor"] or cursor
        url = body["next"]
    return rows, cursor


def walk_url_patterns(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    """(route, namespace prefix, pattern) for every URL pattern, from the URL configuration itself."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            child_namespace = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk_url_patterns(entry.url_patterns, prefix + str(entry.pattern), child_namespace)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace, entry
