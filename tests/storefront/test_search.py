"""Catalog search: the stored full-text document (name, description, brand, category) in the store's language,
trigram matches for typos, this store only; the document follows every write."""

from __future__ import annotations

import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client

from retailsite.commerce.search import SEARCH_LANGUAGES
from retailsite.storefront import selectors
from retailsite.tenancy.context import tenant_context
from tests.factories import ProductFactory

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
    assert sorted(result_names(client, shop, "kett")) == ["Copper Kettle", "Glass Kettle", "Steel Kettle"]


def test_a_misspelt_name_still_finds_the_product(client: Client, shop: Shop) -> None:
    assert sorted(result_names(client, shop, "kettel")) == ["Copper Kettle", "Glass Kettle", "Steel Kettle"]
    assert "Garden Hose" in result_names(client, shop, "garden hoes")
    assert result_names(client, shop, "bicycel") == []  # close to nothing in this store
    # Names that are only similar are not added to real matches ("mug" is not "rug", "kettle -copper" stays so).
    assert sorted(result_names(client, shop, "mug")) == ["Blue Mug", "Red Mug"]


def test_the_document_follows_product_and_category_writes(client: Client, shop: Shop) -> None:
    # Searched before the writes too: what a text found is kept (under the catalog version), never served stale.
    assert result_names(client, shop, "leaf rake") == ["Leaf Rake"]
    assert result_names(client, shop, "broom") == []
    assert sorted(result_names(client, shop, "garden")) == ["Garden Hose", "Leaf Rake", "Red Mug"]
    with tenant_context(shop.tenant):
        rake = shop.products["Leaf Rake"]
        rake.name = "Bamboo Broom"
        rake.save()
        shop.garden.path = shop.garden.name = "Outdoors"
        shop.garden.save()
        ProductFactory(tenant=shop.tenant, name="Watering Can", description="Zinc, ten litres.", category=shop.kitchen)
    assert result_names(client, shop, "broom") == ["Bamboo Broom"]
    assert result_names(client, shop, "leaf rake") == []
    assert sorted(result_names(client, shop, "outdoors")) == ["Bamboo Broom", "Garden Hose", "Red Mug"]
    assert result_names(client, shop, "litres") == ["Watering Can"]


def test_the_store_language_decides_the_stemming(client: Client, shop: Shop) -> None:
    # English stems "boiling" to "boil"; the 'simple' configuration only matches whole words.
    assert sorted(result_names(client, shop, "boiling")) == ["Glass Kettle", "Steel Kettle"]
    shop.tenant.settings = {**shop.tenant.settings, "search_language": "simple"}
    shop.tenant.save()
    assert result_names(client, shop, "boiling") == []
    assert result_names(client, shop, "boils") == ["Steel Kettle"]
    shop.tenant.settings = {**shop.tenant.settings, "search_language": "german"}
    shop.tenant.save()
    ProductFactory(tenant=shop.tenant, name="Wasserkocher", description="Kocht Wasser in zwei Minuten.", category=None)
    assert result_names(client, shop, "Minute") == ["Wasserkocher"]  # German stemming: Minuten / Minute


def test_the_search_language_setting_is_validated(shop: Shop) -> None:
    with pytest.raises(CommandError, match="search_language"):
        call_command("tenant", "set", shop.tenant.slug, "search_language=klingon")
    shop.tenant.refresh_from_db()
    assert "search_language" not in shop.tenant.settings


def test_every_offered_search_language_exists_in_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config")
        installed = {row[0] for row in cursor.fetchall()}
    assert set(SEARCH_LANGUAGES) <= installed


def test_search_never_shows_another_stores_products(client: Client, shop: Shop, other_shop: Shop) -> None:
    assert result_names(client, shop, "bicycle") == []
    assert result_names(client, other_shop, "bicycle") == ["Beta Bicycle"]


def test_the_full_text_function_sees_only_the_store_the_transaction_names(shop: Shop, other_shop: Shop) -> None:
    """The full-text part runs as the platform role, beyond row-level security (so its index can be used): it must
    hold the same wall itself, the store `app.tenant_id` names, and with no store nothing rather than every store."""

    def hits(text: str) -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT product_id FROM commerce_product_text_hits('english', %s, 50)", [text])
            return {row[0] for row in cursor.fetchall()}

    with tenant_context(other_shop.tenant), transaction.atomic():
        assert hits("bicycle") == {other_shop.products["Beta Bicycle"].pk}
    with tenant_context(shop.tenant), transaction.atomic():
        assert hits("bicycle") == set()
        assert hits("kettle")  # the store's own products are found
    with transaction.atomic():
        assert hits("bicycle") == set() and hits("kettle") == set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolbypassrls FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner"
            " WHERE p.proname = 'commerce_product_text_hits'"
        )
        assert cursor.fetchone() == (True,)  # the check above is the function's own, not the policy's


def test_empty_and_odd_queries_are_harmless(client: Client, shop: Shop) -> None:
    assert result_names(client, shop, "") == []
    assert result_names(client, shop, "   ") == []
    for odd in ('"unbalanced', "kettle -copper", "OR OR", "& | ! :*", "'; DROP TABLE x; --", "\u00e9t\u00e9"):
        client.get(shop.url("search/"), {"q": odd})  # result_names asserts the 200
        assert result_names(client, shop, odd) is not None
    assert "Copper Kettle" not in result_names(client, shop, "kettle -copper")


def test_imported_products_are_searchable_at_once(client: Client, shop: Shop, tmp_path) -> None:
    products = tmp_path / "products.csv"
    products.write_text(
        "product_id,name,description,category\n"
        "IMP-1,Enamel Colander,Drains pasta quickly.,Kitchen > Strainers\n"
        "IMP-2,Rain Barrel,Collects water from the gutter.,Garden\n",
        encoding="utf-8",
    )
    call_command("import_data", "--tenant", shop.tenant.slug, "--products", str(products))
    assert result_names(client, shop, "pasta") == ["Enamel Colander"]
    assert result_names(client, shop, "strainers") == ["Enamel Colander"]
    assert result_names(client, shop, "gutter") == ["Rain Barrel"]
    products.write_text("product_id,name\nIMP-2,Water Butt\n", encoding="utf-8")
    call_command("import_data", "--tenant", shop.tenant.slug, "--products", str(products))
    assert result_names(client, shop, "butt") == ["Water Butt"]
