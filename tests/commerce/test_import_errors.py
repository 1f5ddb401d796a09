"""Every kind of bad input is reported with file, line and column, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from retailsite.commerce.importers import ImportFailed, import_store_data
from retailsite.commerce.models import Category, Customer, Event, Follow, Order, OrderLine, Product
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db

GOOD_CUSTOMERS = "customer_id,name\nNEW1,New Customer\nNEW2,Other Customer\n"
GOOD_PRODUCTS = "product_id,name,category,price\nNP1,New product,Garden > Tools,5.00\n"
ORDER_HEADER = "order_id,customer_id,product_id,quantity,ordered_at\n"


def row_counts(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {
            model.__name__: model.objects.count()
            for model in (Customer, Category, Product, Order, OrderLine, Event, Follow)
        }


@pytest.fixture()
def store():
    """A store that already holds one customer and one product."""
    tenant = TenantFactory()
    CustomerFactory(tenant=tenant, external_id="C-OLD", name="Old name")
    ProductFactory(tenant=tenant, external_id="P-OLD")
    return tenant


# (kind, file content (str, or bytes for encoding cases), expected line, column, words in the message)
BAD_INPUTS = {
    "unknown product": (
        "orders",
        ORDER_HEADER + "O1,C-OLD,P-OLD,1,2024-01-01\nO2,NEW1,NOPE,1,2024-01-01\n",
        3,
        "product_id",
        "unknown product 'NOPE'",
    ),
    "unknown customer": (
        "orders",
        ORDER_HEADER + "O1,GHOST,P-OLD,1,2024-01-01\n",
        2,
        "customer_id",
        "unknown customer 'GHOST'",
    ),
    "bad date": ("orders", ORDER_HEADER + "O1,C-OLD,P-OLD,1,31/01/2024\n", 2, "ordered_at", "ISO 8601"),
    "impossible date": ("orders", ORDER_HEADER + "O1,C-OLD,P-OLD,1,2024-02-30\n", 2, "ordered_at", "ISO 8601"),
    "absurd date": ("orders", ORDER_HEADER + "O1,C-OLD,P-OLD,1,1066-10-14\n", 2, "ordered_at", "out of range"),
    "negative quantity": ("orders", ORDER_HEADER + "O1,C-OLD,P-OLD,-2,2024-01-01\n", 2, "quantity", "at least 1"),
    "zero quantity": ("orders", ORDER_HEADER + "O1,C-OLD,P-OLD,0,2024-01-01\n", 2, "quantity", "at least 1"),
    "fractional quantity": ("orders", ORDER_HEADER + "O1,C-OLD,P-OLD,1.5,2024-01-01\n", 2, "quantity", "whole number"),
    "unquoted decimal comma": ("products", "product_id,name,price\nP9,Thing,12,50\n", 2, "field 4", "4 fields"),
    "non-numeric price": ("products", 'product_id,name,price\nP9,Thing,"12,50"\n', 2, "price", "must be a number"),
    "price with text": ("products", "product_id,name,price\nP9,Thing,about 12\n", 2, "price", "must be a number"),
    "negative price": ("products", "product_id,name,price\nP9,Thing,-1\n", 2, "price", "negative"),
    "too many decimals": ("products", "product_id,name,price\nP9,Thing,1.999\n", 2, "price", "decimal places"),
    "non-numeric unit price": (
        "orders",
        "order_id,customer_id,product_id,quantity,ordered_at,unit_price\nO1,C-OLD,P-OLD,1,2024-01-01,12€\n",
        2,
        "unit_price",
        "must be a number",
    ),
    "missing required column": (
        "orders",
        "order_id,customer_id,product_id,ordered_at\nO1,C-OLD,P-OLD,2024-01-01\n",
        1,
        "quantity",
        "required column is missing",
    ),
    "duplicate header column": (
        "customers",
        "customer_id,name,city,name\nC9,A,Lyon,B\n",
        1,
        "name",
        "duplicate column",
    ),
    "unknown header column": ("customers", "customer_id,emial\nC9,a@b.example\n", 1, "emial", "unknown column"),
    "wrong encoding": (
        "customers",
        "customer_id,name,city\nC9,Zoë,Besançon\n".encode("latin-1"),
        2,
        "name",
        "not valid UTF-8",
    ),
    "utf-16 file": ("customers", "customer_id,name\nC9,Zoë\n".encode("utf-16"), 1, "", "not valid UTF-8"),
    "empty file": ("customers", "", 1, "", "empty"),
    "too few fields": ("customers", "customer_id,name,city\nC9,Ann\n", 2, "city", "2 fields"),
    "too many fields": ("customers", "customer_id,name\nC9,Smith, Ann\n", 2, "field 3", "3 fields"),
    "unknown event type": (
        "events",
        "customer_id,product_id,event_type,occurred_at\nC-OLD,P-OLD,click,2024-01-01T10:00:00Z\n",
        2,
        "event_type",
        "'click'",
    ),
    "rating without value": (
        "events",
        "customer_id,product_id,event_type,occurred_at,value\nC-OLD,P-OLD,rating,2024-01-01T10:00:00Z,\n",
        2,
        "value",
        "rating needs",
    ),
    "event value not a number": (
        "events",
        "customer_id,product_id,event_type,occurred_at,value\nC-OLD,P-OLD,rating,2024-01-01T10:00:00Z,five\n",
        2,
        "value",
        "number",
    ),
    "event without customer or session": (
        "events",
        "customer_id,session_id,product_id,event_type,occurred_at\n,,P-OLD,view,2024-01-01T10:00:00Z\n",
        2,
        "customer_id",
        "customer_id or a session_id",
    ),
    "event header without customer or session": (
        "events",
        "product_id,event_type,occurred_at\nP-OLD,view,2024-01-01\n",
        1,
        "customer_id or session_id",
        "at least one",
    ),
    "self follow": ("social", "customer_id,follows_id\nC-OLD,C-OLD\n", 2, "follows_id", "themselves"),
    "follow of unknown customer": (
        "social",
        "customer_id,follows_id\nC-OLD,NOBODY\n",
        2,
        "follows_id",
        "unknown customer 'NOBODY'",
    ),
    "id too long": ("customers", "customer_id,name\n" + "C" * 101 + ",Ann\n", 2, "customer_id", "at most 100"),
    "birth year out of range": ("customers", "customer_id,birth_year\nC9,1850\n", 2, "birth_year", "out of range"),
    "birth year not a number": ("customers", "customer_id,birth_year\nC9,nineteen\n", 2, "birth_year", "whole number"),
    "bad e-mail": ("customers", "customer_id,email\nC9,not-an-email\n", 2, "email", "e-mail"),
    "bad consent": (
        "customers",
        "customer_id,personalization_consent\nC9,maybe\n",
        2,
        "personalization_consent",
        "true or false",
    ),
    "duplicate customer id": ("customers", "customer_id,name\nC9,Ann\nC9,Bob\n", 3, "customer_id", "line 2"),
    "order lines disagree on customer": (
        "orders",
        ORDER_HEADER + "O1,C-OLD,P-OLD,1,2024-01-01\nO1,NEW1,NP1,1,2024-01-01\n",
        3,
        "customer_id",
        "on line 2",
    ),
    "order lines disagree on time": (
        "orders",
        ORDER_HEADER + "O1,C-OLD,P-OLD,1,2024-01-01\nO1,C-OLD,NP1,1,2024-01-02\n",
        3,
        "ordered_at",
        "share one time",
    ),
    "empty category level": (
        "products",
        "product_id,name,category\nP9,Thing,Home >  > Kitchen\n",
        2,
        "category",
        "empty level",
    ),
    "unbalanced quote": ("customers", 'customer_id,name\nC9,"Ann\n', 2, "", "malformed"),
    "NUL character": ("customers", "customer_id,name\nC9,A\x00nn\n", 2, "name", "NUL"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_reported_and_nothing_is_written(case: str, store, tmp_path: Path) -> None:
    kind, content, line, column, words = BAD_INPUTS[case]
    files = {"customers": tmp_path / "good_customers.csv", "products": tmp_path / "good_products.csv"}
    files["customers"].write_text(GOOD_CUSTOMERS)
    files["products"].write_text(GOOD_PRODUCTS)
    bad = tmp_path / f"bad_{kind}.csv"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    files[kind] = bad
    before = row_counts(store)

    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=store, files=files)

    matching = [
        error
        for error in failure.value.errors
        if error.file == str(bad) and error.line == line and error.column == column
    ]
    assert matching, f"no error at {bad}:{line} column {column!r}; got {failure.value.errors}"
    assert any(words in error.message for error in matching), [error.message for error in matching]
    # The good files of the same run were not written either: the store is exactly as before.
    assert row_counts(store) == before
    with tenant_context(store):
        assert not Customer.objects.filter(external_id__in=["NEW1", "NEW2"]).exists()
        assert Customer.objects.get(external_id="C-OLD").name == "Old name"


def test_missing_file_is_reported(store, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=store, files={"customers": missing})
    assert failure.value.errors[0].file == str(missing)
    assert "cannot open" in failure.value.errors[0].message


def test_at_most_the_configured_number_of_errors_is_listed(store, tmp_path: Path) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text(
        ORDER_HEADER
        + "".join(f"O{n},C-OLD,P-OLD,0,2024-01-01\n" for n in range(150))
        + "O-OK,C-OLD,P-OLD,1,2024-01-01\n"
    )
    before = row_counts(store)

    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=store, files={"orders": bad})

    error = failure.value
    assert len(error.errors) == 100
    assert [e.line for e in error.errors] == list(range(2, 102))
    assert (error.total_errors, error.bad_lines, error.unlisted_errors) == (150, 150, 50)
    assert "50 more" in error.describe()
    assert row_counts(store) == before


@override_settings(IMPORT_MAX_REPORTED_ERRORS=3)
def test_error_cap_follows_the_setting(store, tmp_path: Path) -> None:
    bad = tmp_path / "customers.csv"
    bad.write_text("customer_id,birth_year\n" + "".join(f"C{n},1800\n" for n in range(10)))
    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=store, files={"customers": bad})
    assert len(failure.value.errors) == 3
    assert failure.value.total_errors == 10


def test_errors_in_several_files_are_all_reported(store, tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,birth_year\nC1,3000\n")
    products = tmp_path / "products.csv"
    products.write_text("product_id,name,price\nP1,Thing,free\n")
    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=store, files={"customers": customers, "products": products})
    assert {(e.file, e.line, e.column) for e in failure.value.errors} == {
        (str(customers), 2, "birth_year"),
        (str(products), 2, "price"),
    }


def test_merged_order_lines_beyond_the_column_range_are_refused(store, tmp_path: Path) -> None:
    # Each line is plausible, but 2,200 lines of one product in one order overflow the quantity column.
    bad = tmp_path / "orders.csv"
    bad.write_text(ORDER_HEADER + "O1,C-OLD,P-OLD,1000000,2024-01-01\n" * 2200)
    before = row_counts(store)
    with pytest.raises(ImportFailed) as failure:
        import_store_data(tenant=store, files={"orders": bad})
    assert (failure.value.errors[0].line, failure.value.errors[0].column) == (2, "quantity")
    assert row_counts(store) == before
