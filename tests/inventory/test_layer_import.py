"""`import_data --stock`: stock rows land with their supplier terms, re-importing changes nothing, and bad input is
refused with file/line/column errors while nothing at all is written."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.models import StockItem, Supplier
from inventory.selectors import stock_item_terms
from retailsite.commerce.demo import generate_store, write_csvs
from retailsite.commerce.importers import ImportFailed, import_store_data
from retailsite.commerce.models import Product
from retailsite.tenancy.context import tenant_context
from tests.factories import ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "product_id,name,price,cost\nP1,Pan,20.00,8.00\nP2,Pot,30.00,12.00\n"
STOCK = (
    "product_id,on_hand,on_order,lead_time_days,lead_time_std_days,supplier,min_order_qty,pack_size,order_cost,"
    "unit_volume,holding_cost_rate,stockout_cost,service_level\n"
    "P1,12,5,10,2.5,Acme,6,3,40.00,0.5,0.2,1.50,0.97\n"
    "P2,0,0,,,Acme,,,,1.25,0.3,0.00,\n"
)


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_data", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def stock_rows(tenant) -> dict[str, dict]:
    with tenant_context(tenant):
        return {
            row["product__external_id"]: row
            for row in StockItem.objects.values(
                "product__external_id",
                "on_hand",
                "on_order",
                "lead_time_days",
                "lead_time_std_days",
                "supplier__name",
                "min_order_qty",
                "pack_size",
                "order_cost",
                "unit_volume",
                "holding_cost_rate",
                "stockout_cost",
                "service_level",
                "updated_at",
            )
        }


def test_stock_import_stores_stock_costs_and_supplier_terms(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="shop")
    out, _ = run(
        "--tenant",
        "shop",
        "--products",
        write(tmp_path, "products.csv", PRODUCTS),
        "--stock",
        write(tmp_path, "stock.csv", STOCK),
    )

    assert "stock: 2 rows read, 2 created, 0 updated, 0 unchanged (suppliers created: 1)" in out
    rows = stock_rows(tenant)
    assert rows["P1"] | {"updated_at": None} == {
        "product__external_id": "P1",
        "on_hand": 12,
        "on_order": 5,
        "lead_time_days": 10.0,
        "lead_time_std_days": 2.5,
        "supplier__name": "Acme",
        "min_order_qty": 6,
        "pack_size": 3,
        "order_cost": Decimal("40.00"),
        "unit_volume": 0.5,
        "holding_cost_rate": 0.2,
        "stockout_cost": Decimal("1.50"),
        "service_level": 0.97,
        "updated_at": None,
    }
    # Empty supplier-term cells mean "use the supplier's terms" (Acme was created with the defaults).
    assert (rows["P2"]["lead_time_days"], rows["P2"]["pack_size"], rows["P2"]["service_level"]) == (None, None, None)
    with tenant_context(tenant):
        acme = Supplier.objects.get(name="Acme")
        acme.lead_time_days, acme.pack_size = 21.0, 4
        acme.save()
        item = StockItem.objects.select_related("supplier").get(product__external_id="P2")
        terms = stock_item_terms(item)
    assert (terms.lead_time_days, terms.pack_size) == (21.0, 4)


def test_reimporting_the_same_stock_changes_nothing(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="shop")
    products, stock = write(tmp_path, "products.csv", PRODUCTS), write(tmp_path, "stock.csv", STOCK)
    run("--tenant", "shop", "--products", products, "--stock", stock)
    before = stock_rows(tenant)

    out, _ = run("--tenant", "shop", "--products", products, "--stock", stock)

    assert "stock: 2 rows read, 0 created, 0 updated, 2 unchanged" in out
    assert stock_rows(tenant) == before  # updated_at included: no row was rewritten
    with tenant_context(tenant):
        assert Supplier.objects.count() == 1


def test_a_column_left_out_keeps_the_stored_value(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="shop")
    run(
        "--tenant",
        "shop",
        "--products",
        write(tmp_path, "products.csv", PRODUCTS),
        "--stock",
        write(tmp_path, "stock.csv", STOCK),
    )
    out, _ = run("--tenant", "shop", "--stock", write(tmp_path, "counts.csv", "product_id,on_hand\nP1,7\nP2,0\n"))
    assert "stock: 2 rows read, 0 created, 1 updated, 1 unchanged" in out
    rows = stock_rows(tenant)
    assert (rows["P1"]["on_hand"], rows["P1"]["on_order"], rows["P1"]["supplier__name"]) == (7, 5, "Acme")


BAD_CASES = [
    ("unknown product", "product_id,on_hand\nNOPE,3\n", 2, "product_id", "unknown product 'NOPE'"),
    ("negative stock", "product_id,on_hand\nP1,-3\n", 2, "on_hand", "on_hand must be at least 0"),
    ("not a number", "product_id,on_hand,unit_volume\nP1,3,big\n", 2, "unit_volume", "unit_volume must be a number"),
    ("repeated product", "product_id,on_hand\nP1,3\nP1,4\n", 3, "product_id", "already appears on line 2"),
    ("missing column", "product_id,on_order\nP1,3\n", 1, "on_hand", "required column is missing"),
    ("duplicate header", "product_id,on_hand,on_hand\nP1,3,3\n", 1, "on_hand", "duplicate column"),
    ("unknown column", "product_id,on_hand,colour\nP1,3,red\n", 1, "colour", "unknown column"),
    (
        "service level out of range",
        "product_id,on_hand,service_level\nP1,3,1.5\n",
        2,
        "service_level",
        "service_level must be at least 0.5 and at most 0.9999",
    ),
    ("zero pack size", "product_id,on_hand,pack_size\nP1,3,0\n", 2, "pack_size", "pack_size must be at least 1"),
    (
        "empty cell where a value is needed",
        "product_id,on_hand,holding_cost_rate\nP1,3,\n",
        2,
        "holding_cost_rate",
        "leave the column out",
    ),
    ("negative money", "product_id,on_hand,stockout_cost\nP1,3,-1\n", 2, "stockout_cost", "must not be negative"),
    ("wrong encoding", b"product_id,on_hand,supplier\nP1,3,Caf\xe9\n", 2, "supplier", "not valid UTF-8"),
]


@pytest.mark.parametrize(("case", "text", "line", "column", "message"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_stock_input_is_refused_and_nothing_is_written(
    tmp_path: Path, case: str, text: str | bytes, line: int, column: str, message: str
) -> None:
    tenant = TenantFactory(slug="shop")
    ProductFactory(tenant=tenant, external_id="P1")
    # A good products file in the same run must not be written either.
    products = write(tmp_path, "products.csv", "product_id,name\nNEW,New product\n")
    stock = write(tmp_path, "stock.csv", text)

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_data",
            "--tenant",
            "shop",
            "--products",
            products,
            "--stock",
            stock,
            "--no-progress",
            stdout=io.StringIO(),
            stderr=(err := io.StringIO()),
        )

    listed = err.getvalue()
    assert f"{stock}:{line}: {column}: " in listed, listed
    assert message in listed, listed
    with tenant_context(tenant):
        assert not StockItem.objects.exists() and not Supplier.objects.exists()
        assert not Product.objects.filter(external_id="NEW").exists()


def test_every_bad_line_is_listed(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="shop")
    ProductFactory(tenant=tenant, external_id="P1")
    stock = write(tmp_path, "stock.csv", "product_id,on_hand,on_order\nP1,x,1\nP2,1,1\nP1,1,-2\n")
    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=tenant, files={"stock": stock})
    assert [(issue.line, issue.column) for issue in failure.value.errors] == [
        (2, "on_hand"),
        (3, "product_id"),
        (4, "product_id"),
        (4, "on_order"),
    ]


def test_the_demo_generators_stock_file_imports(tmp_path: Path) -> None:
    tenant = TenantFactory(slug="demo")
    store = generate_store(customers=40, products=25, days=60, seed=3, end_date=date(2024, 6, 30))
    paths = write_csvs(store, tmp_path)

    report = import_store_data(tenant=tenant, files={kind: paths[kind] for kind in ("products", "stock")})

    assert report["stock"].created == 25
    again = import_store_data(tenant=tenant, files={kind: paths[kind] for kind in ("products", "stock")})
    assert again["stock"].changed == 0
    with tenant_context(tenant):
        assert StockItem.objects.filter(supplier__isnull=False).count() == 25
        assert StockItem.objects.filter(service_level__gt=0.5).count() == 25
