"""The recommendations API's fast paths answer exactly what the general ones do.

- with prepared statements allowed (DATABASE_PREPARE_THRESHOLD), the customer's list is read through a
  prepared statement: same recommendations, same rules (a product withdrawn a moment ago is not served).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations import serving
from recommendations.training import recommender_train
from retailsite.api.services import api_key_create
from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import TenantFactory
from tests.recommendations.test_layer import build_two_cluster_store

pytestmark = pytest.mark.django_db


@dataclass
class TrainedStore:
    tenant: Tenant
    products: dict[str, list[Product]]
    customers: dict[str, list[Customer]]
    key: str  # a partner's API key with recommendations:read


@pytest.fixture
def trained() -> TrainedStore:
    """The two-cluster store, its recommender trained, and a partner's key."""
    tenant = TenantFactory()
    _, products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        key = api_key_create(name="partner", scopes=["recommendations:read"]).raw_key
    return TrainedStore(tenant, products, customers, key)


def test_prepared_statement_path_serves_the_same_list_under_the_same_rules(client, trained: TrainedStore) -> None:  # type: ignore[no-untyped-def]
    tenant, customers, key = trained.tenant, trained.customers, trained.key
    customer = customers["Alpha"][0]
    url = f"/api/v1/recommendations/customers/{customer.external_id}/?k=5&max_price=99"

    def served_ids() -> list[str]:
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 200, response.content
        return [item["product_id"] for item in response.json()["items"]]

    ordinary = served_ids()
    connection.ensure_connection()
    previous = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = 5  # what DATABASE_PREPARE_THRESHOLD does
    try:
        prepared = served_ids()
        assert prepared == ordinary and len(prepared) == 5
        with tenant_context(tenant):  # withdrawn without any signal: the live check still sees it
            Product.objects.filter(external_id=prepared[0]).update(active=False, price=Decimal("1.00"))
        assert prepared[0] not in served_ids()
    finally:
        connection.connection.prepare_threshold = previous


def test_a_renamed_product_shows_its_new_name_at_once(trained: TrainedStore) -> None:
    with tenant_context(trained.tenant):
        customer = trained.customers["Alpha"][0]
        first = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=3)).items[0]
        product = Product.objects.get(pk=first.product_id)
        product.name = "Renamed Kettle"
        product.save()
        again = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=3)).items[0]
    assert again.product_id == first.product_id and again.name == "Renamed Kettle"


def test_api_item_lists_read_in_one_statement(client, trained: TrainedStore) -> None:  # type: ignore[no-untyped-def]
    """Customer, batch, similar, bought together, trending and re-rank each read what they serve in one statement
    (the credential's own look-up aside), however many customers or products they name."""
    products, customers, key = trained.products, trained.customers, trained.key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    alice, product = customers["Alpha"][0], products["Alpha"][0]
    calls = {
        "customer": lambda: client.get(f"/api/v1/recommendations/customers/{alice.external_id}/?k=5", **auth),
        "similar": lambda: client.get(f"/api/v1/recommendations/products/{product.external_id}/similar/", **auth),
        "together": lambda: client.get(
            f"/api/v1/recommendations/products/{product.external_id}/bought-together/", **auth
        ),
        "trending": lambda: client.get("/api/v1/recommendations/trending/?k=5", **auth),
        "batch": lambda: client.post(
            "/api/v1/recommendations/batch/",
            {"customer_ids": [c.external_id for c in customers["Alpha"] + customers["Beta"]]},
            content_type="application/json",
            **auth,
        ),
        "rerank": lambda: client.post(
            "/api/v1/recommendations/rerank/",
            {"customer_id": alice.external_id, "product_ids": [p.external_id for p in products["Beta"]]},
            content_type="application/json",
            **auth,
        ),
    }
    for name, call in calls.items():
        assert call().status_code == 200, name  # the process's version, settings and catalog snapshot warm up
        with CaptureQueriesContext(connection) as captured:
            response = call()
        assert response.status_code == 200 and response.json(), name
        serving_statements = [
            query["sql"]
            for query in captured.captured_queries
            if "api_apikey" not in query["sql"] and "SAVEPOINT" not in query["sql"]
        ]
        assert len(serving_statements) == 1, (name, serving_statements)


def test_a_version_activated_elsewhere_is_served_within_seconds_and_one_activated_here_at_once(
    client, monkeypatch, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    """Each process keeps the active version it read for `RECENT_SECONDS` (the API's calls then make no cache
    round trip for it): another process's activation shows within that, this process's own at once."""
    from django.core.cache import cache

    from recommendations.models import ModelVersion
    from recommendations.services import active_version_cache_key, model_version_activate
    from retailsite import safe_cache

    tenant = TenantFactory()
    _, _products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        recommender_train(tenant=tenant)
        key = api_key_create(name="partner", scopes=["recommendations:read"]).raw_key
        versions = list(ModelVersion.objects.order_by("number"))
    first, second = versions[0], versions[1]
    assert second.status == ModelVersion.Status.ACTIVE
    url = f"/api/v1/recommendations/customers/{customers['Alpha'][0].external_id}/?k=3"
    clock = [1000.0]
    monkeypatch.setattr(safe_cache._recent, "_clock", lambda: clock[0])

    def served_version() -> str:
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 200
        return str(response.json()["recommendation_id"]).split("-")[0]

    assert served_version() == f"v{second.pk}"
    # Another process brings the first version back: its database write and its clearing of the shared cache.
    with tenant_context(tenant):
        ModelVersion.objects.filter(pk=second.pk).update(status=ModelVersion.Status.RETIRED)
        ModelVersion.objects.filter(pk=first.pk).update(status=ModelVersion.Status.ACTIVE)
    cache.delete(active_version_cache_key(tenant.pk))
    assert served_version() == f"v{second.pk}"  # this process's copy, still within the window
    clock[0] += safe_cache.RECENT_SECONDS + 0.1
    assert served_version() == f"v{first.pk}"
    # This process activates: its next call serves the new version without waiting.
    with tenant_context(tenant), django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version=ModelVersion.objects.get(pk=second.pk))
    assert served_version() == f"v{second.pk}"


def test_a_customer_whose_first_recommendations_are_withdrawn_gets_the_next_ones_of_their_list(
    client, trained: TrainedStore
) -> None:  # type: ignore[no-untyped-def]
    """The API reads the states of only the first products of a customer's list with the list itself; when those
    are all withdrawn, the rest of the list is still served in its order (single customer and batch alike)."""
    from recommendations.models import CustomerRecommendations
    from recommendations.selectors import active_version_id
    from recommendations.serving.rules import first_chunk

    customers, key = trained.customers, trained.key
    with tenant_context(trained.tenant):
        customer = customers["Alpha"][0]
        stored = CustomerRecommendations.objects.get(customer=customer, model_version_id=active_version_id()).items
        external = dict(Product.objects.filter(pk__in=stored["p"]).values_list("pk", "external_id"))
        ranked = [external[pid] for pid in stored["p"]]
        withdrawn = ranked[: first_chunk(2)]
        assert len(ranked) >= len(withdrawn) + 2, "the test store's lists are too short for this test"
        Product.objects.filter(external_id__in=withdrawn).update(active=False)
    expected = ranked[len(withdrawn) : len(withdrawn) + 2]  # the next two of their list, in its order
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    single = client.get(f"/api/v1/recommendations/customers/{customer.external_id}/?k=2", **auth)
    batch = client.post(
        "/api/v1/recommendations/batch/",
        {"customer_ids": [customer.external_id, customers["Beta"][0].external_id], "k": 2},
        content_type="application/json",
        **auth,
    )
    assert single.status_code == 200 and batch.status_code == 200, (single.content, batch.content)
    assert [item["product_id"] for item in single.json()["items"]] == expected
    assert [item["product_id"] for item in batch.json()["results"][0]["items"]] == expected
