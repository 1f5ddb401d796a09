"""Another store's objects do not exist for a credential (OWASP API1, BOLA), and read-only fields stay read-only.

The detail routes are read from the URL configuration, not listed by hand: a new route with
an id in its path fails `test_every_detail_route_is_covered` until a builder below knows how
to create such an object in another store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.urls import get_resolver, reverse

from retailsite.commerce.models import Customer, Order, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant, TenantOwnedModel
from tests.api.conftest import assert_error, walk_url_patterns
from tests.factories import (
    CustomerFactory,
    ImportJobFactory,
    OrderLineFactory,
    ProductFactory,
    StockItemFactory,
)

pytestmark = pytest.mark.django_db

OBJECT_METHODS = ("get", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "api:v1:product-detail"
    route: str
    view_class: type | None

    def handles(self, method: str) -> bool:
        return self.view_class is not None and hasattr(self.view_class, method)


def api_detail_routes() -> list[Route]:
    """Every route under /api/ with a parameter in its path (an object address), from the URL conf."""
    routes = []
    for route, namespace, pattern in walk_url_patterns(get_resolver().url_patterns):
        if route.startswith("api/") and getattr(pattern.pattern, "converters", None) and pattern.name:
            routes.append(Route(f"{namespace}{pattern.name}", route, getattr(pattern.callback, "view_class", None)))
    return routes


# -- how to make another store's object for each detail route: (URL kwargs, a valid body for PUT/PATCH) ----


def _product(tenant: Tenant) -> tuple[dict[str, str], dict[str, Any]]:
    ProductFactory(tenant=tenant, external_id="B-PRODUCT", name="Beta kettle")
    return {"product_id": "B-PRODUCT"}, {"name": "Hijacked", "price": "1.00"}


def _customer(tenant: Tenant) -> tuple[dict[str, str], dict[str, Any]]:
    CustomerFactory(tenant=tenant, external_id="B-CUSTOMER", email="victim@beta.example")
    return {"customer_id": "B-CUSTOMER"}, {"email": "attacker@alpha.example"}


def _order(tenant: Tenant) -> tuple[dict[str, str], dict[str, Any]]:
    line = OrderLineFactory(tenant=tenant, order__external_id="B-ORDER", quantity=2)
    return {"order_id": "B-ORDER"}, {
        "ordered_at": "2024-01-01T00:00:00Z",
        "lines": [{"product_id": line.product.external_id, "quantity": 99}],
    }


def _stock(tenant: Tenant) -> tuple[dict[str, str], dict[str, Any]]:
    product = ProductFactory(tenant=tenant, external_id="B-STOCKED")
    StockItemFactory(tenant=tenant, product=product, on_hand=5)
    return {"product_id": "B-STOCKED"}, {"on_hand": 999}


def _experiment(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    from experiments.services import ArmSpec, experiment_create

    with tenant_context(tenant):
        experiment = experiment_create(name="B test", arms=[ArmSpec("a", 50, True), ArmSpec("b", 50)])
    return {"experiment_id": str(experiment.pk)}, {"name": "Hijacked"}


def _experiment_action(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    kwargs, body = _experiment(tenant)
    return {**kwargs, "action": "start"}, body


def _import_job(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    job = ImportJobFactory(tenant=tenant, files={})
    return {"job_id": str(job.pk)}, {}


OBJECT_BUILDERS: dict[str, Callable[[Tenant], tuple[dict[str, Any], dict[str, Any]]]] = {
    "api:v1:product-detail": _product,
    "api:v1:customer-detail": _customer,
    "api:v1:customer-export": _customer,
    "api:v1:order-detail": _order,
    "api:v1:recommendations-customer": _customer,
    "api:v1:recommendations-similar": _product,
    "api:v1:recommendations-bought-together": _product,
    "api:v1:inventory-stock-detail": _stock,
    "api:v1:customer-insights": _customer,
    "api:v1:experiment-detail": _experiment,
    "api:v1:experiment-results": _experiment,
    "api:v1:experiment-action": _experiment_action,
    "api:v1:import-detail": _import_job,
}


def tenant_rows(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row of every tenant-owned table, as that store sees it."""
    models = [m for m in apps.get_models() if issubclass(m, TenantOwnedModel)]
    with tenant_context(tenant):
        return {m._meta.label: list(m.objects.order_by("pk").values()) for m in models}


def test_the_url_conf_has_detail_routes() -> None:
    names = {route.name for route in api_detail_routes()}
    assert {"api:v1:product-detail", "api:v1:customer-detail", "api:v1:order-detail"} <= names


def test_every_detail_route_is_covered() -> None:
    missing = [route.route for route in api_detail_routes() if route.name not in OBJECT_BUILDERS]
    assert not missing, f"add a builder to OBJECT_BUILDERS for: {missing}"


@pytest.mark.parametrize("route", api_detail_routes(), ids=lambda route: route.name)
def test_another_stores_object_is_not_found_on_any_method(route: Route, api, store_a, store_b) -> None:
    build = OBJECT_BUILDERS.get(route.name)
    if build is None:
        pytest.fail(f"no builder for {route.route}; add one to OBJECT_BUILDERS")
    kwargs, body = build(store_b)
    url = reverse(route.name, kwargs=kwargs)
    before = tenant_rows(store_b)
    for method in OBJECT_METHODS:
        response = (
            getattr(api, method)(url, body, format="json") if method in ("put", "patch") else getattr(api, method)(url)
        )
        if route.handles(method):
            assert_error(response, 404, "not_found")
        else:
            assert_error(response, 405, "method_not_allowed")
    assert tenant_rows(store_b) == before


def test_a_key_lists_only_its_own_store(api, store_a, store_b) -> None:
    ProductFactory(tenant=store_a, external_id="A1")
    ProductFactory(tenant=store_b, external_id="B1")
    CustomerFactory(tenant=store_b, external_id="CB")
    OrderLineFactory(tenant=store_b)
    products = api.get("/api/v1/products/").json()["results"]
    assert [p["product_id"] for p in products] == ["A1"]
    assert api.get("/api/v1/customers/").json()["count"] == 0
    assert api.get("/api/v1/orders/").json()["count"] == 0


def test_the_same_id_in_two_stores_resolves_to_the_callers_own(api, store_a, store_b) -> None:
    ProductFactory(tenant=store_a, external_id="SHARED", name="Alpha's")
    ProductFactory(tenant=store_b, external_id="SHARED", name="Beta's")
    assert api.get("/api/v1/products/SHARED/").json()["name"] == "Alpha's"
    api.patch("/api/v1/products/SHARED/", {"name": "Renamed"})
    with tenant_context(store_b):
        assert Product.objects.get(external_id="SHARED").name == "Beta's"


def test_no_parameter_or_header_chooses_the_store(api, store_a, store_b) -> None:
    ProductFactory(tenant=store_b, external_id="B1")
    for response in (
        api.get(f"/api/v1/products/?tenant={store_b.pk}&tenant_id={store_b.pk}&store=beta"),
        api.get("/api/v1/products/", HTTP_X_TENANT="beta", HTTP_X_TENANT_ID=str(store_b.pk)),
        api.get("/api/v1/products/", HTTP_HOST="testserver"),
    ):
        assert response.status_code == 200
        assert response.json()["count"] == 0
    assert api.get(f"/api/v1/whoami/?tenant={store_b.pk}").json()["store"] == "alpha"


def test_writes_land_in_the_callers_store_whatever_the_body_says(api, store_a, store_b) -> None:
    response = api.post(
        "/api/v1/products/", {"product_id": "NEW", "name": "Kettle", "tenant": store_b.pk, "tenant_id": store_b.pk}
    )
    assert response.status_code == 201
    with tenant_context(store_a):
        assert Product.objects.filter(external_id="NEW").exists()
    with tenant_context(store_b):
        assert not Product.objects.filter(external_id="NEW").exists()


# -- mass assignment ---------------------------------------------------------------------------

READ_ONLY_FIELDS = {"id": 987654, "pk": 987654, "tenant": None, "tenant_id": None, "created_at": "2001-02-03T04:05:06Z"}


def _read_only_payload(store_b: Tenant, address_field: str) -> dict[str, Any]:
    payload = {**READ_ONLY_FIELDS, "tenant": store_b.pk, "tenant_id": store_b.pk}
    payload[address_field] = "RENAMED"  # the id is the object's address; an update never changes it
    return payload


def test_patch_with_read_only_product_fields_changes_nothing(api, store_a, store_b) -> None:
    product = ProductFactory(tenant=store_a, external_id="P1", price=Decimal("10.00"))
    with tenant_context(store_a):
        before = Product.objects.filter(pk=product.pk).values().get()
    response = api.patch("/api/v1/products/P1/", _read_only_payload(store_b, "product_id"))
    assert response.status_code == 200
    with tenant_context(store_a):
        assert Product.objects.filter(pk=product.pk).values().get() == before
        assert not Product.objects.filter(external_id="RENAMED").exists()
    assert tenant_rows(store_b)["commerce.Product"] == []


def test_patch_with_read_only_customer_fields_changes_nothing(api, store_a, store_b) -> None:
    customer = CustomerFactory(tenant=store_a, external_id="C1")
    with tenant_context(store_a):
        before = Customer.objects.filter(pk=customer.pk).values().get()
    response = api.patch(
        "/api/v1/customers/C1/", {**_read_only_payload(store_b, "customer_id"), "email_hash": "0" * 64, "password": "x"}
    )
    assert response.status_code == 200
    with tenant_context(store_a):
        assert Customer.objects.filter(pk=customer.pk).values().get() == before


def test_patch_with_read_only_order_fields_changes_nothing(api, store_a, store_b) -> None:
    line = OrderLineFactory(tenant=store_a, order__external_id="O1", quantity=3)
    with tenant_context(store_a):
        before = Order.objects.filter(pk=line.order_id).values().get()
    response = api.patch("/api/v1/orders/O1/", _read_only_payload(store_b, "order_id"))
    assert response.status_code == 200
    with tenant_context(store_a):
        assert Order.objects.filter(pk=line.order_id).values().get() == before
        assert line.order.lines.get().quantity == 3


@pytest.mark.parametrize("route", ["products", "customers", "orders"])
def test_an_id_postgresql_cannot_store_is_simply_not_found(route, client_for) -> None:
    client = client_for(["catalog:read", "customers:read", "orders:read"])
    assert_error(client.get(f"/api/v1/{route}/%00/"), 404, "not_found")
