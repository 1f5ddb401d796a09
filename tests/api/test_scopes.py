"""Scopes per HTTP method, and the staff session's scopes derived from the member's role."""

from __future__ import annotations

import pytest
from django.urls import get_resolver
from rest_framework.test import APIClient

from retailsite.api.scopes import ALL_SCOPES
from retailsite.tenancy.middleware import SESSION_TENANT_KEY
from retailsite.tenancy.models import Role
from tests.api.conftest import assert_error, walk_url_patterns
from tests.factories import MembershipFactory, ProductFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

# What each endpoint needs, written down independently of the views' scope maps.
REQUIRED_SCOPE = [
    ("get", "/api/v1/products/", "catalog:read"),
    ("post", "/api/v1/products/", "catalog:write"),
    ("post", "/api/v1/products/bulk/", "catalog:write"),
    ("get", "/api/v1/products/P1/", "catalog:read"),
    ("put", "/api/v1/products/P1/", "catalog:write"),
    ("patch", "/api/v1/products/P1/", "catalog:write"),
    ("delete", "/api/v1/products/P1/", "catalog:write"),
    ("get", "/api/v1/customers/", "customers:read"),
    ("post", "/api/v1/customers/", "customers:write"),
    ("post", "/api/v1/customers/bulk/", "customers:write"),
    ("get", "/api/v1/customers/C1/", "customers:read"),
    ("put", "/api/v1/customers/C1/", "customers:write"),
    ("patch", "/api/v1/customers/C1/", "customers:write"),
    ("delete", "/api/v1/customers/C1/", "customers:write"),
    ("get", "/api/v1/customers/C1/export/", "customers:read"),
    ("get", "/api/v1/orders/", "orders:read"),
    ("post", "/api/v1/orders/", "orders:write"),
    ("post", "/api/v1/orders/bulk/", "orders:write"),
    ("get", "/api/v1/orders/O1/", "orders:read"),
    ("put", "/api/v1/orders/O1/", "orders:write"),
    ("patch", "/api/v1/orders/O1/", "orders:write"),
    ("delete", "/api/v1/orders/O1/", "orders:write"),
    ("post", "/api/v1/events/", "events:write"),
    ("post", "/api/v1/events/batch/", "events:write"),
    ("get", "/api/v1/recommendations/customers/C1/", "recommendations:read"),
    ("post", "/api/v1/recommendations/batch/", "recommendations:read"),
    ("get", "/api/v1/recommendations/products/P1/similar/", "recommendations:read"),
    ("get", "/api/v1/recommendations/products/P1/bought-together/", "recommendations:read"),
    ("get", "/api/v1/recommendations/trending/", "recommendations:read"),
    ("post", "/api/v1/recommendations/rerank/", "recommendations:read"),
    ("get", "/api/v1/inventory/plan/", "inventory:read"),
    ("get", "/api/v1/inventory/stock/", "inventory:read"),
    ("post", "/api/v1/inventory/stock/bulk/", "inventory:write"),
    ("get", "/api/v1/inventory/stock/P1/", "inventory:read"),
    ("put", "/api/v1/inventory/stock/P1/", "inventory:write"),
    ("patch", "/api/v1/inventory/stock/P1/", "inventory:write"),
    ("get", "/api/v1/forecasts/", "forecasts:read"),
    ("get", "/api/v1/customers/C1/insights", "customers:read"),
    ("get", "/api/v1/experiments/", "experiments:read"),
    ("post", "/api/v1/experiments/", "experiments:write"),
    ("get", "/api/v1/experiments/1/", "experiments:read"),
    ("get", "/api/v1/experiments/1/results/", "experiments:read"),
    ("post", "/api/v1/experiments/1/start/", "experiments:write"),
    ("get", "/api/v1/imports/", "imports:read"),
    ("post", "/api/v1/imports/", "imports:write"),
    ("get", "/api/v1/imports/1/", "imports:read"),
]


@pytest.mark.parametrize(("method", "url", "scope"), REQUIRED_SCOPE, ids=lambda v: str(v))
def test_a_key_without_the_scope_gets_403(method, url, scope, client_for) -> None:
    ProductFactory(tenant__slug="alpha", external_id="P1")
    client = client_for([s for s in ALL_SCOPES if s != scope])
    response = getattr(client, method)(url, {}, format="json")
    error = assert_error(response, 403, "missing_scope")
    assert scope in error["message"]


@pytest.mark.parametrize(("method", "url", "scope"), REQUIRED_SCOPE, ids=lambda v: str(v))
def test_a_key_with_only_that_scope_gets_past_the_scope_check(method, url, scope, client_for) -> None:
    client = client_for([scope])
    response = getattr(client, method)(url, {}, format="json")
    assert response.status_code not in (401, 403), response.content


def test_whoami_needs_only_a_valid_key(client_for) -> None:
    assert client_for(["events:write"]).get("/api/v1/whoami/").status_code == 200


def test_every_api_route_is_in_the_scope_table() -> None:
    """A new endpoint must be added to REQUIRED_SCOPE (so its scope is tested) or be a known exception."""
    tested = {reverse_path for _, reverse_path, _ in REQUIRED_SCOPE}
    public_or_any = {"api/v1/whoami/", "api/v1/schema/", "api/v1/docs/", "api/^.*$"}
    # Publishable-key routes (browser/): no partner scopes; their own rules are tested in tests/browser/.
    public_or_any |= {"api/v1/browser/recommendations/", "api/v1/browser/events/"}
    for route, _namespace, _pattern in walk_url_patterns(get_resolver().url_patterns):
        if not route.startswith("api/") or route in public_or_any:
            continue
        concrete = "/" + route.replace("<str:product_id>", "P1").replace("<str:customer_id>", "C1").replace(
            "<str:order_id>", "O1"
        ).replace("<str:experiment_id>", "1").replace("<str:action>", "start").replace("<str:job_id>", "1")
        assert concrete in tested, f"{route} has no entry in REQUIRED_SCOPE"


# -- staff session (browsable API) ------------------------------------------------------------------


def _staff_client(role: str, *, slug: str = "alpha") -> APIClient:
    membership = MembershipFactory(
        tenant=TenantFactory(slug=slug), user=UserFactory(username=f"{role}-staff"), role=role
    )
    client = APIClient()
    client.force_login(membership.user)
    return client


def test_a_manager_reads_and_writes_through_the_session() -> None:
    client = _staff_client(Role.MANAGER)
    body = client.get("/api/v1/whoami/").json()
    assert body["credential"] == "staff_session" and body["store"] == "alpha"
    assert "catalog:write" in body["scopes"] and "customers:read" in body["scopes"]
    assert client.post("/api/v1/products/", {"product_id": "P9", "name": "Mug"}).status_code == 201
    assert client.get("/api/v1/customers/").status_code == 200


def test_an_analyst_reads_but_neither_writes_nor_sees_personal_data() -> None:
    client = _staff_client(Role.ANALYST)
    scopes = client.get("/api/v1/whoami/").json()["scopes"]
    assert "catalog:read" in scopes and "orders:read" in scopes
    assert not {"customers:read", "customers:write", "catalog:write", "events:write"} & set(scopes)
    assert client.get("/api/v1/products/").status_code == 200
    assert_error(client.get("/api/v1/customers/"), 403, "missing_scope")
    assert_error(client.post("/api/v1/products/", {"product_id": "P9", "name": "Mug"}), 403, "missing_scope")


def test_a_viewer_only_reads() -> None:
    client = _staff_client(Role.VIEWER)
    assert client.get("/api/v1/orders/").status_code == 200
    assert_error(client.post("/api/v1/events/", {}), 403, "missing_scope")


def test_an_owner_has_every_scope() -> None:
    client = _staff_client(Role.OWNER)
    assert client.get("/api/v1/whoami/").json()["scopes"] == list(ALL_SCOPES)


def test_the_session_acts_in_the_store_selected_for_the_admin() -> None:
    user = UserFactory(username="two-stores")
    alpha, beta = TenantFactory(slug="alpha"), TenantFactory(slug="beta")
    MembershipFactory(tenant=alpha, user=user, role=Role.MANAGER)
    MembershipFactory(tenant=beta, user=user, role=Role.ANALYST)
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/v1/whoami/").json()["store"] == "alpha"  # first membership by default
    session = client.session
    session[SESSION_TENANT_KEY] = beta.pk
    session.save()
    body = client.get("/api/v1/whoami/").json()
    assert body["store"] == "beta" and "catalog:write" not in body["scopes"]


def test_session_writes_need_the_csrf_token() -> None:
    membership = MembershipFactory(
        tenant=TenantFactory(slug="alpha"), user=UserFactory(username="m"), role=Role.MANAGER
    )
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(membership.user)
    response = client.post("/api/v1/products/", {"product_id": "P9", "name": "Mug"})
    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]


def test_staff_without_a_membership_are_refused() -> None:
    TenantFactory(slug="alpha")
    client = APIClient()
    client.force_login(UserFactory(username="nobody"))
    error = assert_error(client.get("/api/v1/products/"), 401, "authentication_failed")
    assert "not a member" in error["message"]


def test_a_signed_in_non_staff_user_is_not_authenticated() -> None:
    user = UserFactory(username="shopper", is_staff=False)
    MembershipFactory(tenant=TenantFactory(slug="alpha"), user=user, role=Role.OWNER)
    client = APIClient()
    client.force_login(user)
    assert_error(client.get("/api/v1/products/"), 401, "not_authenticated")


def test_a_superuser_must_choose_a_store_first() -> None:
    user = UserFactory(username="root", is_superuser=True)
    MembershipFactory(tenant=TenantFactory(slug="alpha"), user=user, role=Role.OWNER)
    client = APIClient()
    client.force_login(user)
    error = assert_error(client.get("/api/v1/products/"), 401, "authentication_failed")
    assert "store" in error["message"]


def test_the_browsable_api_renders_for_staff() -> None:
    client = _staff_client(Role.MANAGER)
    ProductFactory(tenant__slug="alpha", external_id="P1", name="Browsable teapot")
    for url in ("/api/v1/products/", "/api/v1/products/P1/", "/api/v1/orders/", "/api/v1/events/batch/"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 405), url
        assert response["Content-Type"].startswith("text/html")
    assert "Browsable teapot" in client.get("/api/v1/products/P1/", HTTP_ACCEPT="text/html").content.decode()
