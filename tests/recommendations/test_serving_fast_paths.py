"""The recommendations API's fast paths answer exactly what the general ones do.

- with prepared statements allowed (DATABASE_PREPARE_THRESHOLD), the customer's list is read through a
  prepared statement: same recommendations, same rules (a product withdrawn a moment ago is not served).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from recommendations import serving
from recommendations.training import recommender_train
from retailsite.api.services import api_key_create
from retailsite.commerce.models import Product
from retailsite.tenancy.context import tenant_context
from tests.factories import TenantFactory
from tests.recommendations.test_layer import build_two_cluster_store

pytestmark = pytest.mark.django_db


def test_prepared_statement_path_serves_the_same_list_under_the_same_rules(client) -> None:
    tenant = TenantFactory()
    _, _products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        key = api_key_create(name="partner", scopes=["recommendations:read"]).raw_key
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


def test_a_renamed_product_shows_its_new_name_at_once() -> None:
    tenant = TenantFactory()
    _, _products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
        customer = customers["Alpha"][0]
        first = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=3)).items[0]
        product = Product.objects.get(pk=first.product_id)
        product.name = "Renamed Kettle"
        product.save()
        again = serving.recommend_for_customer(customer_id=customer.id, filters=serving.Filters(k=3)).items[0]
    assert again.product_id == first.product_id and again.name == "Renamed Kettle"
