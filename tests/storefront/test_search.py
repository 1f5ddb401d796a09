"""Catalog search: PostgreSQL full-text search over name, description, brand and category, this store only."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from retailsite.storefront import selectors
from retailsite.tenancy.context import tenant_context

from .conftest import Shop

pytestmark = pytest.mark.django_db


def result_names(client: Client, shop: Shop, query: str) -> list[str]:
    response = client.get(shop.url("search/"), {"q": query})
    assert response.status_code == 200
    return re.findall(r'<span class="card-name">(.*?)</span>', response.content.decode())


def test_search_finds_products_by_name(client: Client, shop: Shop) -> None:
    assert sorted(result_names(client, shop, "kettle")) == ["Copper Kettle", "Glass Kettle", "Steel Kettle"]
    assert result_names(client, shop, "Leaf Rake") == ["Leaf Rake"]


def test_search_finds_products_by_description_words_and_stems(client: Client, shop: Shop) -> None:
    assert result_names(client, shop, "whistling") == ["Copper Kettle"]
    assert result_names(client, shop, "watering lawn") == ["Garden Hose"]  # every word must match
    # English stemming: "boiling" finds "boils" (Steel Kettle) and "boil" (Glass Kettle).
    assert sorted(result_names(client, shop, "boiling")) == ["Glass Kettle", "Steel Kettle"]


def test_a_name_match_ranks_above_a_description_match(client: Client, shop: Shop) -> None:
    # "tea" is only in the mugs' descriptions; "mug" is in their names: both mugs, no kettles.
    assert sorted(result_names(client, shop, "mug tea")) == ["Blue Mug", "Red Mug"]
    with tenant_context(shop.tenant):
        ranked = selectors.product_search(text="kettle copper")
    assert ranked[0][0] == shop.products["Copper Kettle"].pk


def test_search_finds_by_category_and_by_partial_word(client: Client, shop: Shop) -> None:
    assert "Leaf Rake" in result_names(client, shop, "garden")
    assert result_names(client, shop, "ketl") == []
    assert sorted(result_names(client, shop, "kett")) == ["Copper Kettle", "Glass Kettle", "Steel Kettle"]


def test_search_never_shows_another_stores_products(client: Client, shop: Shop, other_shop: Shop) -> None:
    assert result_names(client, shop, "bicycle") == []
    assert result_names(client, other_shop, "bicycle") == ["Beta Bicycle"]


def test_empty_and_odd_queries_are_harmless(client: Client, shop: Shop) -> None:
    assert result_names(client, shop, "") == []
    assert result_names(client, shop, "   ") == []
    for odd in ('"unbalanced', "kettle -copper", "OR OR", "& | ! :*", "'; DROP TABLE x; --", "\u00e9t\u00e9"):
        client.get(shop.url("search/"), {"q": odd})  # result_names asserts the 200
        assert result_names(client, shop, odd) is not None
    assert "Copper Kettle" not in result_names(client, shop, "kettle -copper")
