"""Products written by the bulk importer (one statement for many rows) get the same search document as any other
write: each row its own category and its store's language, and it follows a later category rename."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from retailsite.commerce.models import Category
from retailsite.tenancy.context import tenant_context

from .conftest import Shop
from .test_search import result_names

pytestmark = pytest.mark.django_db


def import_products(shop: Shop, path: Path, rows: str) -> None:
    path.write_text("product_id,name,description,category\n" + rows, encoding="utf-8")
    call_command("import_data", "--tenant", shop.tenant.slug, "--products", str(path))


def test_each_imported_row_is_found_by_its_own_category(client: Client, shop: Shop, tmp_path: Path) -> None:
    import_products(
        shop,
        tmp_path / "products.csv",
        "B-1,Enamel Colander,Drains pasta.,Kitchen > Strainers\n"
        "B-2,Rain Barrel,Collects water.,Garden > Water Storage\n"
        "B-3,Oak Board,For bread.,Kitchen > Chopping\n"
        "B-4,Clay Pot,For herbs.,Garden\n",
    )
    assert result_names(client, shop, "strainers") == ["Enamel Colander"]
    assert result_names(client, shop, "storage") == ["Rain Barrel"]
    assert result_names(client, shop, "chopping") == ["Oak Board"]
    # "Garden" is an existing category: the pot joins the store's garden products.
    assert sorted(result_names(client, shop, "garden")) == [
        "Clay Pot",
        "Garden Hose",
        "Leaf Rake",
        "Rain Barrel",
        "Red Mug",
    ]
    assert result_names(client, shop, "drains pasta") == ["Enamel Colander"]  # by the description


def test_a_category_renamed_after_an_import_finds_its_products_by_the_new_name(
    client: Client, shop: Shop, tmp_path: Path
) -> None:
    import_products(
        shop,
        tmp_path / "products.csv",
        "S-1,Enamel Colander,Drains pasta.,Kitchen > Strainers\nS-2,Fine Mesh Cone,For sauces.,Kitchen > Strainers\n",
    )
    assert sorted(result_names(client, shop, "strainers")) == ["Enamel Colander", "Fine Mesh Cone"]
    with tenant_context(shop.tenant):
        strainers = Category.objects.get(path="Kitchen > Strainers")
        strainers.name = "Sieves"
        strainers.path = "Kitchen > Sieves"
        strainers.save()
    assert sorted(result_names(client, shop, "sieves")) == ["Enamel Colander", "Fine Mesh Cone"]
    assert result_names(client, shop, "strainers") == []


def test_an_import_uses_each_stores_search_language(
    client: Client, shop: Shop, other_shop: Shop, tmp_path: Path
) -> None:
    shop.tenant.settings = {**shop.tenant.settings, "search_language": "simple"}
    shop.tenant.save()
    rows = "L-1,Stock Pot,Simmers soups gently.,Kitchen\n"
    import_products(shop, tmp_path / "alpha.csv", rows)
    import_products(other_shop, tmp_path / "beta.csv", rows)
    # English (the default) stems "simmering" and "simmers" alike; 'simple' matches whole words only.
    assert result_names(client, other_shop, "simmering") == ["Stock Pot"]
    assert result_names(client, shop, "simmering") == []
    assert result_names(client, shop, "simmers") == ["Stock Pot"]
