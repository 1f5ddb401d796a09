"""What a shopper sees on the demo store makes sense: trained on a `seed_demo` store in PostgreSQL, the version's
stored lists keep "similar items" within a product's department, and "because you viewed X" names an X that
shares the item's department or was bought with it; staff see each component's figures beside the blend's."""

from __future__ import annotations

from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command

from recommendations.models import CustomerRecommendations, ModelVersion, ProductNeighbours
from recommendations.training import recommender_train
from retailsite.commerce.models import OrderLine, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained_demo() -> Tenant:
    call_command(
        "seed_demo",
        *("--tenant", "plausible", "--customers", "700", "--products", "160", "--days", "150", "--seed", "4"),
        "--no-progress",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    tenant = Tenant.objects.get(slug="plausible")
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
    return tenant


def _department(path: str) -> str:
    return path.split(">")[0].strip()


def test_the_demo_stores_lists_make_sense_to_a_shopper(trained_demo: Tenant) -> None:
    with tenant_context(trained_demo):
        version = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)
        department = {p.id: _department(p.category.path) for p in Product.objects.select_related("category")}
        baskets: dict[int, set[int]] = defaultdict(set)
        for order_id, product_id in OrderLine.objects.values_list("order_id", "product_id"):
            baskets[order_id].add(product_id)
        bought_with: dict[int, set[int]] = defaultdict(set)
        for items in baskets.values():
            for item in items:
                bought_with[item] |= items

        similar = dict(ProductNeighbours.objects.filter(model_version=version).values_list("product_id", "similar"))
        assert len(similar) == len(department)
        for product_id, stored in similar.items():
            top = stored["p"][:5]
            assert top, product_id
            same = sum(department[other] == department[product_id] for other in top)
            assert same >= 0.8 * len(top), (product_id, top)

        viewed = 0
        for stored in CustomerRecommendations.objects.filter(model_version=version).values_list("items", flat=True):
            for product_id, kind, anchor in zip(stored["p"], stored["k"], stored["a"], strict=True):
                if kind not in ("because_viewed", "because_bought") or anchor is None:
                    continue
                viewed += kind == "because_viewed"
                related = department[anchor] == department[product_id] or product_id in bought_with[anchor]
                assert related, (kind, anchor, product_id)
        assert viewed, "the demo store's lists do say 'because you viewed'"

        # staff see why the version is what it is: each component's held-out figures next to the blend's
        components = version.metrics["components"]
        assert version.metrics["blend"]["served"]
        assert all(len(figures["folds_ndcg@10"]) == 2 for figures in components.values())
        served = [name for name, figures in components.items() if figures["weight"] > 0]
        assert served and all("ndcg@10" in components[name] for name in served)
