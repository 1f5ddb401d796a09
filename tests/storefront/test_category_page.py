"""Category pages come from the catalog snapshot and a kept popularity order that follows catalog writes."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from retailsite.commerce.models import Category
from retailsite.tenancy.context import tenant_context
from tests.factories import ProductFactory

from .conftest import Shop

pytestmark = pytest.mark.django_db


def listing(client: Client, shop: Shop, category: Category, page: int | None = None) -> list[str]:
    response = client.get(shop.url(f"c/{category.pk}/"), {"page": page} if page else {})
    assert response.status_code == 200
    html = response.content.decode().split('id="category-products"', 1)[1]
    return re.findall(r'<span class="card-name">(.*?)</span>', html)


def test_moves_new_products_and_deactivations_show_on_the_next_visit(
    client: Client, shop: Shop, django_capture_on_commit_callbacks
) -> None:
    assert "Red Mug" not in listing(client, shop, shop.kitchen)
    with tenant_context(shop.tenant), django_capture_on_commit_callbacks(execute=True):
        mug = shop.products["Red Mug"]
        mug.category = shop.kitchen
        mug.save()
        ProductFactory(tenant=shop.tenant, external_id="iron-kettle", name="Iron Kettle", category=shop.kettles)
        kettle = shop.products["Glass Kettle"]
        kettle.active = False
        kettle.save()
    kitchen = listing(client, shop, shop.kitchen)
    assert "Red Mug" in kitchen and "Iron Kettle" in kitchen and "Glass Kettle" not in kitchen
    assert "Red Mug" not in listing(client, shop, shop.garden)


def test_breadcrumbs_and_sub_categories(client: Client, shop: Shop) -> None:
    html = client.get(shop.url(f"c/{shop.kettles.pk}/")).content.decode()
    crumbs = html.split('class="breadcrumbs"', 1)[1].split("</nav>", 1)[0]
    assert f'href="/s/alpha/c/{shop.kitchen.pk}/"' in crumbs and "Kettles" in crumbs
    assert 'aria-label="Sub-categories"' not in html  # a leaf


def test_later_pages_continue_the_order_without_repeats(client: Client, shop: Shop) -> None:
    for number in range(30):
        ProductFactory(
            tenant=shop.tenant, external_id=f"towel-{number}", name=f"Tea Towel {number:02}", category=shop.kitchen
        )
    first, second = listing(client, shop, shop.kitchen), listing(client, shop, shop.kitchen, page=2)
    assert len(first) == 24 and len(second) == 4 + 30 - 24
    assert not set(first) & set(second)


def test_unknown_and_other_stores_categories_are_404(client: Client, shop: Shop, other_shop: Shop) -> None:
    assert client.get(shop.url("c/999999/")).status_code == 404
    assert client.get(shop.url(f"c/{other_shop.kitchen.pk}/")).status_code == 404
