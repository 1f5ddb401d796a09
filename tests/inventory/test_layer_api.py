"""The inventory API: scopes enforced per method, another store's plan and stock invisible, stock upserts all or
nothing with the importer's bounds."""

from __future__ import annotations

import pytest

from inventory.models import StockItem, Supplier
from inventory.planning import reorder_plan_create
from retailsite.api.scopes import ALL_SCOPES
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import assert_error, issue_key, key_client
from tests.builders.inventory import forecast_run, make_store, stocked_product
from tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db]

REQUIRED_SCOPE = [
    ("get", "/api/v1/inventory/plan/", "inventory:read"),
    ("get", "/api/v1/inventory/stock/", "inventory:read"),
    ("get", "/api/v1/inventory/stock/P1/", "inventory:read"),
    ("put", "/api/v1/inventory/stock/P1/", "inventory:write"),
    ("patch", "/api/v1/inventory/stock/P1/", "inventory:write"),
    ("post", "/api/v1/inventory/stock/bulk/", "inventory:write"),
]


@pytest.fixture
def stores():
    """Two stores, each with a planned product under the same external id and one of its own."""
    alpha, beta = make_store("alpha"), make_store("beta")
    for store, own in ((alpha, "A-ONLY"), (beta, "B-ONLY")):
        shared, _ = stocked_product(store, "P1", on_hand=2, lead_time_days=7)
        mine, _ = stocked_product(store, own, on_hand=0, lead_time_days=7)
        forecast_run(store, {shared: (4, 5, 7), mine: (2, 3, 5)})
        with tenant_context(store):
            reorder_plan_create(tenant=store)
    return alpha, beta


def client(store, scopes=ALL_SCOPES):
    return key_client(issue_key(store, scopes))


@pytest.mark.parametrize(("method", "url", "scope"), REQUIRED_SCOPE, ids=lambda v: str(v))
def test_a_key_without_the_scope_gets_403(method: str, url: str, scope: str, stores) -> None:
    alpha, _ = stores
    api = client(alpha, [s for s in ALL_SCOPES if s != scope])
    response = getattr(api, method)(url, {"on_hand": 1}, format="json")
    error = assert_error(response, 403, "missing_scope")
    assert scope in error["message"]


@pytest.mark.parametrize(("method", "url", "scope"), REQUIRED_SCOPE, ids=lambda v: str(v))
def test_the_scope_alone_is_enough(method: str, url: str, scope: str, stores) -> None:
    alpha, _ = stores
    response = getattr(client(alpha, [scope]), method)(
        url, {"items": [{"product_id": "P1", "on_hand": 1}], "on_hand": 1}, format="json"
    )
    assert response.status_code in (200, 201), response.content


def test_the_plan_lists_only_the_callers_store(stores) -> None:
    alpha, _ = stores
    body = client(alpha, ["inventory:read"]).get("/api/v1/inventory/plan/").json()
    assert sorted(line["product_id"] for line in body["results"]) == ["A-ONLY", "P1"]
    assert body["count"] == 2
    with tenant_context(alpha):
        assert body["plan"]["id"] == alpha_plan_id()
    line = next(line for line in body["results"] if line["product_id"] == "A-ONLY")
    assert {
        "reorder_point",
        "order_up_to",
        "safety_stock",
        "order_quantity",
        "expected_fill_rate",
        "critical_fractile",
        "eoq",
        "policy_rule",
        "dynamic_reviews",
        "cost_with_order",
        "cost_without_order",
    } <= set(line)
    assert line["policy_rule"] == "dynamic" and line["dynamic_reviews"] == 12
    assert line["order_quantity"] > 0


def alpha_plan_id() -> int:
    from inventory.selectors import active_plan

    return active_plan().pk


def test_another_stores_stock_is_not_found_and_not_changed(stores) -> None:
    alpha, beta = stores
    api = client(alpha)
    assert_error(api.get("/api/v1/inventory/stock/B-ONLY/"), 404, "not_found")
    assert_error(api.put("/api/v1/inventory/stock/B-ONLY/", {"on_hand": 999}, format="json"), 404, "not_found")
    assert_error(api.patch("/api/v1/inventory/stock/B-ONLY/", {"on_hand": 999}, format="json"), 404, "not_found")
    bulk = api.post(
        "/api/v1/inventory/stock/bulk/", {"items": [{"product_id": "B-ONLY", "on_hand": 999}]}, format="json"
    )
    assert assert_error(bulk, 400, "invalid")["fields"] == {
        "items[0].product_id": ["No product with id 'B-ONLY' in this store."]
    }
    # The same external id in both stores: the caller's own row changes, never the other store's.
    assert api.patch("/api/v1/inventory/stock/P1/", {"on_hand": 77}, format="json").json()["on_hand"] == 77
    listed = api.get("/api/v1/inventory/stock/").json()
    assert sorted(row["product_id"] for row in listed["results"]) == ["A-ONLY", "P1"]
    with tenant_context(beta):
        assert dict(StockItem.objects.values_list("product__external_id", "on_hand")) == {"P1": 2, "B-ONLY": 0}


def test_a_store_without_a_plan_gets_a_clear_404() -> None:
    store = make_store("gamma")
    error = assert_error(client(store).get("/api/v1/inventory/plan/"), 404, "not_found")
    assert "no active reorder plan" in error["message"]


def test_put_creates_and_replaces_stock_with_supplier_terms() -> None:
    store = make_store("alpha")
    ProductFactory(tenant=store, external_id="NEW")
    api = client(store, ["inventory:write", "inventory:read"])

    created = api.put(
        "/api/v1/inventory/stock/NEW/",
        {"on_hand": 4, "supplier": "Acme", "pack_size": 6, "lead_time_days": 3},
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["effective_terms"]["pack_size"] == 6
    assert created.json()["supplier"] == "Acme"

    replaced = api.put("/api/v1/inventory/stock/NEW/", {"on_hand": 9}, format="json")
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["on_hand"], body["pack_size"], body["supplier"]) == (9, None, None)  # PUT replaces every field
    with tenant_context(store):
        assert Supplier.objects.filter(name="Acme").exists()


def test_bad_stock_values_are_refused_with_the_importers_bounds() -> None:
    store = make_store("alpha")
    ProductFactory(tenant=store, external_id="P1")
    api = client(store)
    response = api.post(
        "/api/v1/inventory/stock/bulk/",
        {
            "items": [
                {"product_id": "P1", "on_hand": -1},
                {"product_id": "P1", "on_hand": 1, "service_level": 1.5, "pack_size": 0},
            ]
        },
        format="json",
    )
    fields = assert_error(response, 400, "invalid")["fields"]
    assert set(fields) == {"items[0].on_hand", "items[1].service_level", "items[1].pack_size"}
    with tenant_context(store):
        assert not StockItem.objects.exists()


def test_bulk_upsert_is_all_or_nothing_and_reports_created_and_updated() -> None:
    store = make_store("alpha")
    stocked_product(store, "OLD", on_hand=1)
    ProductFactory(tenant=store, external_id="NEW")
    api = client(store)
    refused = api.post(
        "/api/v1/inventory/stock/bulk/",
        {"items": [{"product_id": "OLD", "on_hand": 5}, {"product_id": "MISSING", "on_hand": 5}]},
        format="json",
    )
    assert_error(refused, 400, "invalid")
    with tenant_context(store):
        assert StockItem.objects.get(product__external_id="OLD").on_hand == 1

    done = api.post(
        "/api/v1/inventory/stock/bulk/",
        {"items": [{"product_id": "OLD", "on_hand": 5}, {"product_id": "NEW", "on_hand": 3}]},
        format="json",
    )
    assert done.status_code == 200
    assert done.json() == {"created": ["NEW"], "updated": ["OLD"]}
