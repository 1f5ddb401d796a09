"""Correct imports of every kind, idempotence, and tenant separation (PostgreSQL, under RLS)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from retailsite.commerce.importers import import_store_data
from retailsite.commerce.models import Category, Customer, Event, Follow, Order, OrderLine, Product
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, ProductFactory, TenantFactory

pytestmark = pytest.mark.django_db


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


CUSTOMERS = """customer_id,email,name,phone,birth_year,gender,city,country,signed_up_at,personalization_consent
C1,ann@example.com,Ann Smith,+33 1 23,1990,F,Lyon,fr,2023-05-01,true
C2,,Bob,,,male,Paris,FR,2023-05-02T10:00:00+02:00,no
C3,carl@example.com,Carl,,1975,,,,,yes
"""
PRODUCTS = """product_id,name,description,category,brand,tags,price,cost,active
P1,Chef knife,Sharp,Home > Kitchen > Knives,Acme,steel; kitchen ;,29.90,12.5,true
P2,Pan,Non-stick,Home > Kitchen,Acme,,19.99,,1
P3,Lamp,,Home > Lighting,Brite,light,45,20,false
"""
ORDERS = """order_id,customer_id,product_id,quantity,ordered_at,unit_price,channel
O1,C1,P1,1,2024-03-01T09:30:00,25.00,web
O1,C1,P2,2,2024-03-01T09:30:00,,web
O2,C2,P1,1,2024-03-02,,store
O2,C2,P1,3,2024-03-02,,store
"""
EVENTS = """customer_id,session_id,product_id,event_type,occurred_at,value
C1,,P1,view,2024-03-01T09:00:00Z,
,sess-9,P2,cart,2024-03-01T09:05:00Z,
C2,,P3,rating,2024-03-03T12:00:00Z,4.5
C1,,P1,view,2024-03-01T09:00:00Z,
"""
SOCIAL = """customer_id,follows_id
C1,C2
C2,C1
C3,C1
"""


@pytest.fixture()
def store_files(tmp_path: Path) -> dict[str, Path]:
    return {
        "customers": write(tmp_path, "customers.csv", CUSTOMERS),
        "products": write(tmp_path, "products.csv", PRODUCTS),
        "orders": write(tmp_path, "orders.csv", ORDERS),
        "events": write(tmp_path, "events.csv", EVENTS),
        "social": write(tmp_path, "social.csv", SOCIAL),
    }


def snapshot(tenant) -> dict[str, list[tuple]]:
    """Every imported row of the tenant, as comparable tuples (with updated/created markers)."""
    with tenant_context(tenant):
        return {
            "customers": sorted(
                Customer.objects.values_list(
                    "pk",
                    "external_id",
                    "email",
                    "name",
                    "phone",
                    "address",
                    "birth_year",
                    "gender",
                    "city",
                    "country",
                    "signed_up_at",
                    "personalization_consent",
                    "marketing_consent",
                    "created_at",
                )
            ),
            "categories": sorted(Category.objects.values_list("pk", "path", "name", "parent__path")),
            "products": sorted(
                Product.objects.values_list(
                    "pk",
                    "external_id",
                    "name",
                    "description",
                    "category__path",
                    "brand",
                    "tags",
                    "price",
                    "cost",
                    "active",
                    "created_at",
                )
            ),
            "orders": sorted(
                Order.objects.values_list("pk", "external_id", "customer__external_id", "ordered_at", "channel")
            ),
            "lines": sorted(
                OrderLine.objects.values_list(
                    "pk", "order__external_id", "product__external_id", "quantity", "unit_price"
                )
            ),
            "events": sorted(
                Event.objects.values_list(
                    "pk",
                    "customer__external_id",
                    "session_id",
                    "product__external_id",
                    "event_type",
                    "value",
                    "occurred_at",
                    "dedupe_key",
                )
            ),
            "follows": sorted(Follow.objects.values_list("pk", "follower__external_id", "followee__external_id")),
        }


def test_full_store_import_creates_every_kind(store_files: dict[str, Path]) -> None:
    tenant = TenantFactory(timezone="Europe/Paris")
    report = import_store_data(tenant=tenant, files=store_files)

    assert [kind for kind in report.kinds] == ["customers", "products", "orders", "events", "social"]
    assert (report["customers"].rows_read, report["customers"].created) == (3, 3)
    assert (report["products"].created, report["products"].details["categories_created"]) == (3, 4)
    # Four order lines, two of them the same product in O2: three lines stored, two orders.
    assert (report["orders"].rows_read, report["orders"].created) == (4, 3)
    assert report["orders"].details["orders_created"] == 2
    # The repeated view event is stored once.
    assert (report["events"].rows_read, report["events"].created, report["events"].unchanged) == (4, 3, 1)
    assert report["social"].created == 3

    with tenant_context(tenant):
        ann = Customer.objects.get(external_id="C1")
        assert (ann.email, ann.name, ann.birth_year, ann.gender, ann.country) == (
            "ann@example.com",
            "Ann Smith",
            1990,
            "F",
            "FR",
        )
        # A date alone is midnight in the store's time zone (Paris, UTC+2 in May).
        assert ann.signed_up_at == datetime(2023, 4, 30, 22, 0, tzinfo=UTC)
        bob = Customer.objects.get(external_id="C2")
        assert (bob.gender, bob.personalization_consent, bob.birth_year) == ("M", False, None)

        knife = Product.objects.get(external_id="P1")
        assert knife.tags == ["steel", "kitchen"]
        assert (knife.price, knife.cost, knife.active) == (Decimal("29.90"), Decimal("12.50"), True)
        assert knife.category.path == "Home > Kitchen > Knives"
        assert knife.category.parent.path == "Home > Kitchen"
        assert knife.category.parent.parent.path == "Home"
        assert knife.category.parent.parent.parent is None
        assert Product.objects.get(external_id="P3").active is False
        assert Product.objects.get(external_id="P2").cost is None

        o1 = Order.objects.get(external_id="O1")
        # Naive times are in the tenant's zone: 09:30 in Paris in March (UTC+1) is 08:30 UTC.
        assert o1.ordered_at == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
        assert (o1.customer.external_id, o1.channel) == ("C1", "web")
        lines = {line.product.external_id: (line.quantity, line.unit_price) for line in o1.lines.all()}
        # P1 has an explicit price; P2 takes the product's price.
        assert lines == {"P1": (1, Decimal("25.00")), "P2": (2, Decimal("19.99"))}
        merged = OrderLine.objects.get(order__external_id="O2")
        assert (merged.quantity, merged.unit_price) == (4, Decimal("29.90"))

        rating = Event.objects.get(event_type="rating")
        assert (rating.customer.external_id, rating.value) == ("C2", 4.5)
        anonymous = Event.objects.get(session_id="sess-9")
        assert anonymous.customer is None
        assert set(Follow.objects.values_list("follower__external_id", "followee__external_id")) == {
            ("C1", "C2"),
            ("C2", "C1"),
            ("C3", "C1"),
        }


def test_second_import_changes_nothing(store_files: dict[str, Path]) -> None:
    tenant = TenantFactory()
    import_store_data(tenant=tenant, files=store_files)
    before = snapshot(tenant)

    again = import_store_data(tenant=tenant, files=store_files)

    assert snapshot(tenant) == before
    for kind, counts in again.kinds.items():
        assert (counts.created, counts.updated, counts.deleted) == (0, 0, 0), kind
    assert again["customers"].unchanged == 3
    assert again["orders"].unchanged == 3
    assert again["events"].unchanged == 4


def test_reimport_updates_changed_rows_only(tmp_path: Path, store_files: dict[str, Path]) -> None:
    tenant = TenantFactory()
    import_store_data(tenant=tenant, files=store_files)
    changed = write(tmp_path, "customers2.csv", "customer_id,city\nC1,Lyon\nC2,Nice\nC4,Lille\n")

    report = import_store_data(tenant=tenant, files={"customers": changed})

    counts = report["customers"]
    assert (counts.created, counts.updated, counts.unchanged) == (1, 1, 1)
    with tenant_context(tenant):
        bob = Customer.objects.get(external_id="C2")
        # Columns absent from the file keep their values.
        assert (bob.city, bob.name, bob.personalization_consent) == ("Nice", "Bob", False)
        assert Customer.objects.get(external_id="C4").personalization_consent is True


def test_reimported_order_replaces_its_lines(tmp_path: Path, store_files: dict[str, Path]) -> None:
    tenant = TenantFactory()
    import_store_data(tenant=tenant, files=store_files)
    revised = write(
        tmp_path, "orders2.csv", "order_id,customer_id,product_id,quantity,ordered_at\nO1,C1,P1,5,2024-03-01T09:30:00\n"
    )

    report = import_store_data(tenant=tenant, files={"orders": revised})

    counts = report["orders"]
    assert (counts.created, counts.updated, counts.deleted) == (0, 1, 1)
    with tenant_context(tenant):
        lines = OrderLine.objects.filter(order__external_id="O1")
        # Quantity updated; the unit price given by the first import is kept when none is given.
        assert [(line.product.external_id, line.quantity, line.unit_price) for line in lines] == [
            ("P1", 5, Decimal("25.00"))
        ]
        assert OrderLine.objects.filter(order__external_id="O2").count() == 1


def test_orders_may_reference_rows_already_in_the_store(tmp_path: Path) -> None:
    tenant = TenantFactory()
    CustomerFactory(tenant=tenant, external_id="OLD-C")
    ProductFactory(tenant=tenant, external_id="OLD-P", price=Decimal("7.50"))
    orders = write(
        tmp_path, "orders.csv", "order_id,customer_id,product_id,quantity,ordered_at\nX1,OLD-C,OLD-P,2,2024-01-01\n"
    )

    import_store_data(tenant=tenant, files={"orders": orders})

    with tenant_context(tenant):
        line = OrderLine.objects.get()
        assert (line.order.customer.external_id, line.quantity, line.unit_price) == ("OLD-C", 2, Decimal("7.50"))


def test_import_into_one_tenant_leaves_another_untouched(store_files: dict[str, Path]) -> None:
    a, b = TenantFactory(), TenantFactory()
    CustomerFactory(tenant=b, external_id="C1", name="B's own C1", city="Bordeaux")
    ProductFactory(tenant=b, external_id="P1", name="B's product")
    before_b = snapshot(b)

    import_store_data(tenant=a, files=store_files)

    assert snapshot(b) == before_b
    with tenant_context(a):
        assert Customer.objects.get(external_id="C1").name == "Ann Smith"
        assert Customer.objects.count() == 3


def test_header_is_case_insensitive_and_bom_is_accepted(tmp_path: Path) -> None:
    tenant = TenantFactory()
    path = write(tmp_path, "c.csv", "\ufeffCustomer_ID, Name\r\nC1,Zoë\r\n")

    report = import_store_data(tenant=tenant, files={"customers": path})

    assert report["customers"].created == 1
    with tenant_context(tenant):
        assert Customer.objects.get().name == "Zoë"


def test_personal_data_is_stored_encrypted_with_its_blind_index(store_files: dict[str, Path]) -> None:
    from django.db import connection

    from retailsite.encryption.crypto import blind_index

    tenant = TenantFactory()
    import_store_data(tenant=tenant, files={"customers": store_files["customers"]})

    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute("SELECT email, name, email_hash FROM commerce_customer WHERE external_id = 'C1'")
        email, name, email_hash = cursor.fetchone()
    # The raw columns hold tokens, not the values; the ORM reads them back in clear.
    assert "ann@example.com" not in email and "Ann" not in name
    assert email_hash == blind_index("ann@example.com")
    with tenant_context(tenant):
        assert Customer.objects.get(email_hash=blind_index("ANN@example.com")).name == "Ann Smith"
