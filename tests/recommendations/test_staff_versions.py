"""What staff see of model versions: numbers per store, and no way to delete the version that serves."""

from __future__ import annotations

import pytest
from django.test import Client

from recommendations.models import ModelVersion
from recommendations.training import recommender_train
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.recommendations.test_layer import build_two_cluster_store

pytestmark = pytest.mark.django_db


def test_each_store_numbers_its_versions_from_one() -> None:
    first, second = TenantFactory(), TenantFactory()
    for tenant in (first, second):
        build_two_cluster_store(tenant, customers_per_cluster=6, products_per_cluster=6)
    for tenant in (first, first, second):
        with tenant_context(tenant):
            summary = recommender_train(tenant=tenant)
    assert summary.startswith("recommendations v1 ")  # the second store's first model
    with tenant_context(first):
        assert sorted(ModelVersion.objects.values_list("number", flat=True)) == [1, 2]
    with tenant_context(second):
        assert list(ModelVersion.objects.values_list("number", flat=True)) == [1]


def test_the_active_version_has_no_delete_button_and_survives_a_bulk_delete(client: Client) -> None:
    tenant = TenantFactory()
    build_two_cluster_store(tenant, customers_per_cluster=6, products_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        active = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)
    owner = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=owner, role=Role.OWNER)
    client.force_login(owner)
    page = client.get(f"/admin/recommendations/modelversion/{active.pk}/change/")
    assert page.status_code == 200
    assert f"/admin/recommendations/modelversion/{active.pk}/delete/" not in page.content.decode()
    assert client.get(f"/admin/recommendations/modelversion/{active.pk}/delete/").status_code == 403
    listing = client.get("/admin/recommendations/modelversion/").content.decode()
    assert ">v1<" in listing
    client.post(
        "/admin/recommendations/modelversion/",
        {"action": "delete_selected", "_selected_action": [active.pk], "post": "yes"},
    )
    with tenant_context(tenant):
        assert ModelVersion.objects.filter(pk=active.pk).exists()


def test_the_version_page_says_whether_new_products_take_their_neighbours_scores(client: Client) -> None:
    tenant = TenantFactory()
    build_two_cluster_store(tenant, customers_per_cluster=6, products_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        version = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)
        version.metrics["new_products"] = {
            "kept": False,
            "folds_ndcg@10_with": [0.21, 0.22],
            "folds_ndcg@10_without": [0.23, 0.24],
            "support_without": 0.95,
            "new_products_per_fold": [3, 4],
        }
        version.save(update_fields=["metrics"])
    owner = UserFactory(is_staff=True)
    MembershipFactory(tenant=tenant, user=owner, role=Role.OWNER)
    client.force_login(owner)
    page = client.get(f"/admin/recommendations/modelversion/{version.pk}/change/").content.decode()
    assert "new products take their neighbours&#x27; scores: left out" in page
    assert "without: 0.2300, 0.2400" in page
