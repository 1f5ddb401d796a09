"""A product page's shopper-independent parts are kept per product and follow every catalog and model change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recommendations.models import ModelVersion
from recommendations.services import active_version_cache_key
from retailsite.safe_cache import cache_delete
from retailsite.tenancy.context import tenant_context
from tests.factories import ModelVersionFactory

from .conftest import Shop

pytestmark = pytest.mark.django_db


def page(client: Client, shop: Shop, name: str) -> str:
    response = client.get(shop.product_url(name))
    assert response.status_code == 200
    return response.content.decode()


def test_a_kept_product_page_reads_no_product_from_the_database(client: Client, shop: Shop) -> None:
    first = page(client, shop, "Copper Kettle")
    with CaptureQueriesContext(connection) as queries:
        second = page(Client(), shop, "Copper Kettle")  # another visitor
    # (the recorded view still checks that the product exists; nothing reads what the page shows)
    shown = ('"commerce_product"."price"', "commerce_category", "recommendations_productneighbours")
    assert [q["sql"] for q in queries.captured_queries if any(part in q["sql"] for part in shown)] == []
    assert "Copper Kettle" in second and "12.50" in second
    assert first.split("<form")[0] == second.split("<form")[0]


def test_a_price_change_shows_on_the_next_visit(client: Client, shop: Shop, django_capture_on_commit_callbacks) -> None:
    assert "12.50" in page(client, shop, "Copper Kettle")
    # The catalog version moves when the write commits.
    with tenant_context(shop.tenant), django_capture_on_commit_callbacks(execute=True):
        kettle = shop.products["Copper Kettle"]
        kettle.price = Decimal("19.99")
        kettle.save()
    html = page(client, shop, "Copper Kettle")
    assert "19.99" in html and "12.50" not in html.split("data-section")[0]


def test_a_deactivated_product_is_gone_on_the_next_visit(
    client: Client, shop: Shop, django_capture_on_commit_callbacks
) -> None:
    page(client, shop, "Leaf Rake")
    with tenant_context(shop.tenant), django_capture_on_commit_callbacks(execute=True):
        rake = shop.products["Leaf Rake"]
        rake.active = False
        rake.save()
    assert client.get(shop.product_url("Leaf Rake")).status_code == 404


def test_a_new_model_version_renders_the_shelves_again(client: Client, shop: Shop, monkeypatch) -> None:
    rendered: list[int] = []
    from retailsite.storefront import product_page

    original = product_page.product_sections
    monkeypatch.setattr(product_page, "product_sections", lambda *a, **k: rendered.append(1) or original(*a, **k))
    page(client, shop, "Copper Kettle")
    page(client, shop, "Copper Kettle")
    assert len(rendered) == 1
    ModelVersionFactory(tenant=shop.tenant, algorithm="hybrid", status=ModelVersion.Status.ACTIVE)
    cache_delete(active_version_cache_key(shop.tenant.pk))  # as activation does
    page(client, shop, "Copper Kettle")
    assert len(rendered) == 2


def test_each_visit_is_still_recorded(client: Client, shop: Shop) -> None:
    page(client, shop, "Copper Kettle")
    page(client, shop, "Copper Kettle")
    assert [event.product_id for event in shop.events()] == [shop.products["Copper Kettle"].pk] * 2
