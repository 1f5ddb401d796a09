"""The recommender's tenant layer: training runs, activation rules, serving rules, export and API."""

from __future__ import annotations

import csv
import datetime as dt
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from recommendations import serving
from recommendations.models import CustomerRecommendations, ModelVersion
from recommendations.services import model_version_activate
from recommendations.training import recommender_train
from retailsite.api.services import api_key_create
from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.context import tenant_context
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    ModelVersionFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


def build_two_cluster_store(tenant, *, customers_per_cluster: int = 20, products_per_cluster: int = 12):
    """Cluster A customers buy only A products, cluster B only B products, over 60 days."""
    rng = random.Random(7)
    cats = {name: CategoryFactory(tenant=tenant, name=name, path=name) for name in ("Alpha", "Beta")}
    products = {
        name: [
            ProductFactory(
                tenant=tenant,
                external_id=f"{name[0]}{i:02d}",
                name=f"{name} thing {i}",
                category=cats[name],
                price=Decimal("10.00") + i,
            )
            for i in range(products_per_cluster)
        ]
        for name in cats
    }
    start = timezone.now() - dt.timedelta(days=60)
    customers = {}
    for name in cats:
        customers[name] = []
        for c in range(customers_per_cluster):
            customer = CustomerFactory(
                tenant=tenant, external_id=f"{name[0]}-C{c:02d}", gender="F" if c % 2 else "M", birth_year=1980 + c
            )
            customers[name].append(customer)
            for n, product in enumerate(rng.sample(products[name], 6)):
                order = OrderFactory(
                    tenant=tenant,
                    customer=customer,
                    external_id=f"{customer.external_id}-O{n}",
                    ordered_at=start + dt.timedelta(days=n * 9 + c % 5),
                )
                OrderLineFactory(tenant=tenant, order=order, product=product, quantity=1)
    return cats, products, customers


def test_training_recovers_taste_clusters_and_serves_them(tmp_path) -> None:
    tenant = TenantFactory()
    _cats, products, customers = build_two_cluster_store(tenant)
    with tenant_context(tenant):
        summary = recommender_train(tenant=tenant)
        version = ModelVersion.objects.get()
        assert version.status == ModelVersion.Status.ACTIVE, summary
        assert 0.0 <= version.metrics["ndcg@10"] <= 1.0
        assert set(version.metrics["groups"]["gender"]) == {"F", "M"}
        alpha_ids = {p.id for p in products["Alpha"]}
        beta_ids = {p.id for p in products["Beta"]}
        for name, own, _other in (("Alpha", alpha_ids, beta_ids), ("Beta", beta_ids, alpha_ids)):
            for customer in customers[name][:5]:
                served = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=5))
                shown = [item.product_id for item in served.items]
                assert len(shown) == 5
                assert sum(pid in own for pid in shown) >= 4, (name, served.items)
                assert all(item.reason for item in served.items)
                assert served.recommendation_id.startswith(f"v{version.pk}-")
    out = tmp_path / "recs.csv"
    call_command("export_recommendations", "--tenant", tenant.slug, "--k", "3", "--output", str(out))
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["customer_id", "rank", "product_id", "score", "reason"]
    assert len(rows) == 1 + 3 * 40


def test_a_worse_model_is_not_activated() -> None:
    tenant = TenantFactory()
    build_two_cluster_store(tenant, customers_per_cluster=8)
    with tenant_context(tenant):
        incumbent = ModelVersionFactory(
            tenant=tenant, algorithm="hybrid", status=ModelVersion.Status.TRAINING, metrics={"ndcg@10": 0.99}
        )
        model_version_activate(version=incumbent)
        recommender_train(tenant=tenant)
        newest = ModelVersion.objects.exclude(pk=incumbent.pk).get()
        assert newest.status == ModelVersion.Status.REJECTED
        assert "below the active" in newest.status_reason
        assert ModelVersion.objects.get(status="active").pk == incumbent.pk


def test_an_interrupted_training_leaves_the_previous_version_serving(monkeypatch) -> None:
    tenant = TenantFactory()
    build_two_cluster_store(tenant, customers_per_cluster=8)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        first = ModelVersion.objects.get(status="active")
        customer = Customer.objects.first()
        before = serving.recommend_for_customer(customer_id=customer.id).items

        def crash(*args, **kwargs):
            raise MemoryError("worker killed mid-write")

        monkeypatch.setattr("recommendations.training.bulk_insert", crash)
        with pytest.raises(MemoryError):
            recommender_train(tenant=tenant)
        failed = ModelVersion.objects.exclude(pk=first.pk).get()
        assert failed.status == ModelVersion.Status.FAILED and "worker killed" in failed.status_reason
        assert ModelVersion.objects.get(status="active").pk == first.pk
        after = serving.recommend_for_customer(customer_id=customer.id).items
        assert [i.product_id for i in after] == [i.product_id for i in before]


def test_serving_rules_are_honoured() -> None:
    tenant = TenantFactory()
    cats, _products, customers = build_two_cluster_store(tenant, customers_per_cluster=10)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        customer = customers["Alpha"][0]
        bought = set(customer.orders.values_list("lines__product_id", flat=True))
        default = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=20))
        assert not bought & {i.product_id for i in default.items}, "already-purchased shown by default"
        with_bought = serving.recommend_for_customer(
            customer_id=customer.id, filters=serving.Filters(k=30, include_purchased=True)
        )
        assert bought & {i.product_id for i in with_bought.items}
        excluded = default.items[0].product_id
        again = serving.recommend_for_customer(
            customer_id=customer.id, filters=serving.Filters(k=20, exclude_product_ids=frozenset({excluded}))
        )
        assert excluded not in {i.product_id for i in again.items}
        in_beta = serving.recommend_for_customer(
            customer_id=customer.id, filters=serving.Filters(k=10, category_id=cats["Beta"].id)
        )
        assert in_beta.items and {i.category_id for i in in_beta.items} == {cats["Beta"].id}
        cheap = serving.recommend_for_customer(
            customer_id=customer.id, filters=serving.Filters(k=10, max_price=Decimal("13.00"))
        )
        assert cheap.items and all(i.price <= Decimal("13.00") for i in cheap.items)
        capped = serving.recommend_for_customer(
            customer_id=customer.id, filters=serving.Filters(k=6, max_per_category=2, include_purchased=True)
        )
        categories = [i.category_id for i in capped.items]
        assert all(categories.count(c) <= 2 for c in categories)
        top = default.items[0].product_id
        Product.objects.filter(id=top).update(active=False)
        after = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=20))
        assert top not in {i.product_id for i in after.items}


def test_without_a_trained_model_popular_items_are_served() -> None:
    tenant = TenantFactory()
    _, _products, customers = build_two_cluster_store(tenant, customers_per_cluster=4)
    with tenant_context(tenant):
        assert not ModelVersion.objects.exists()
        served = serving.recommend_for_customer(customer_id=customers["Alpha"][0].id, filters=serving.Filters(k=5))
        assert len(served.items) == 5 and served.model_version_id is None
        assert {i.reason_kind for i in served.items} <= {"popular", "new_arrival", "because_viewed"}


def test_precomputed_lists_cover_every_consenting_customer_only() -> None:
    tenant = TenantFactory()
    _, _, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    opted_out = customers["Beta"][0]
    with tenant_context(tenant):
        Customer.objects.filter(pk=opted_out.pk).update(personalization_consent=False)
        recommender_train(tenant=tenant)
        listed = set(CustomerRecommendations.objects.values_list("customer_id", flat=True))
        assert opted_out.id not in listed
        assert len(listed) == 11


def test_api_serves_recommendations_with_id_score_and_reason(client) -> None:
    tenant = TenantFactory()
    _, products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        key = api_key_create(name="partner", scopes=["recommendations:read"]).raw_key
    customer = customers["Alpha"][0]
    response = client.get(
        f"/api/v1/recommendations/customers/{customer.external_id}/?k=4", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["recommendation_id"].startswith("v") and len(body["items"]) == 4
    assert all(item["reason"] and isinstance(item["score"], float) for item in body["items"])
    similar = client.get(
        f"/api/v1/recommendations/products/{products['Alpha'][0].external_id}/similar/?k=3",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    ).json()
    assert all(item["reason"].startswith("Similar to") for item in similar["items"])
    bad = client.get(
        f"/api/v1/recommendations/customers/{customer.external_id}/?k=0&min_price=5&max_price=1",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert bad.status_code == 400 and "k" in bad.json()["error"]["fields"]


def test_only_recent_versions_keep_their_lists() -> None:
    tenant = TenantFactory()
    build_two_cluster_store(tenant, customers_per_cluster=4)
    with tenant_context(tenant):
        for _ in range(5):
            recommender_train(tenant=tenant)
        with_lists = set(CustomerRecommendations.objects.values_list("model_version_id", flat=True))
        newest = list(ModelVersion.objects.order_by("-created_at").values_list("id", flat=True))
        active = ModelVersion.objects.get(status="active").pk
        assert active in with_lists
        assert with_lists <= set(newest[:4]) and newest[-1] not in with_lists


def test_training_leaves_no_model_file_that_would_outlive_an_erasure(settings, tmp_path) -> None:
    """F12: nothing loads a pickled model; one on disk kept erased customers' latent factors."""
    settings.MEDIA_ROOT = str(tmp_path)
    tenant = TenantFactory()
    build_two_cluster_store(tenant)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        version = ModelVersion.objects.get()
    assert version.status == ModelVersion.Status.ACTIVE
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []
