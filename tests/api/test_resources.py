"""Products, customers and orders through the API: CRUD, bulk upsert (all or nothing), validation, paging."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from retailsite.commerce.models import Category, Customer, Order, OrderLine, Product
from retailsite.tenancy.context import tenant_context
from tests.api.conftest import assert_error
from tests.factories import CustomerFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _count(tenant, model) -> int:
    with tenant_context(tenant):
        return model.objects.count()


# -- products ------------------------------------------------------------------------------------


def test_create_read_and_list_a_product(api, store_a) -> None:
    response = api.post(
        "/api/v1/products/",
        {
            "product_id": "TEA-1",
            "name": "  Teapot ",
            "category": "Home > Kitchen",
            "brand": "Acme",
            "tags": ["tea", "gift", "tea"],
            "price": "24.50",
            "cost": 11,
            "active": True,
        },
    )
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Teapot" and created["tags"] == ["tea", "gift"] and created["price"] == "24.50"
    assert api.get("/api/v1/products/TEA-1/").json() == created
    assert api.get("/api/v1/products/").json()["results"] == [created]
    with tenant_context(store_a):
        kitchen = Category.objects.get(path="Home > Kitchen")
        assert kitchen.parent.path == "Home" and kitchen.name == "Kitchen"
        assert Product.objects.get(external_id="TEA-1").cost == Decimal("11.00")


def test_creating_an_existing_product_id_is_a_conflict(api, store_a) -> None:
    ProductFactory(tenant=store_a, external_id="TEA-1", name="Original")
    assert_error(api.post("/api/v1/products/", {"product_id": "TEA-1", "name": "Copy"}), 409, "conflict")
    assert api.get("/api/v1/products/TEA-1/").json()["name"] == "Original"


def test_put_replaces_every_field_and_patch_only_the_given_ones(api, store_a) -> None:
    api.post(
        "/api/v1/products/",
        {"product_id": "P1", "name": "Mug", "brand": "Acme", "price": "5.00", "tags": ["a"], "category": "Kitchen"},
    )
    patched = api.patch("/api/v1/products/P1/", {"price": "6.00"}).json()
    assert patched["price"] == "6.00" and patched["brand"] == "Acme" and patched["category"] == "Kitchen"
    replaced = api.put("/api/v1/products/P1/", {"name": "Big mug"}).json()
    assert replaced == {
        **replaced,
        "name": "Big mug",
        "brand": "",
        "price": "0.00",
        "tags": [],
        "category": None,
        "active": True,
        "cost": None,
        "product_id": "P1",
    }
    assert_error(api.put("/api/v1/products/P1/", {"brand": "x"}), 400, "invalid")  # name is required on PUT


def test_delete_a_product_unless_it_was_ordered(api, store_a) -> None:
    ProductFactory(tenant=store_a, external_id="FREE")
    OrderLineFactory(tenant=store_a, product__external_id="SOLD")
    assert api.delete("/api/v1/products/FREE/").status_code == 204
    assert_error(api.get("/api/v1/products/FREE/"), 404, "not_found")
    error = assert_error(api.delete("/api/v1/products/SOLD/"), 409, "conflict")
    assert "active" in error["message"]
    assert api.get("/api/v1/products/SOLD/").status_code == 200


def test_list_filters_by_category_subtree_and_active(api, store_a) -> None:
    api.post(
        "/api/v1/products/bulk/",
        {
            "items": [
                {"product_id": "A", "name": "a", "category": "Home > Kitchen"},
                {"product_id": "B", "name": "b", "category": "Home"},
                {"product_id": "C", "name": "c", "category": "Homeware"},
                {"product_id": "D", "name": "d", "category": "Home > Kitchen > Pots", "active": False},
            ]
        },
    )
    ids = lambda query: [p["product_id"] for p in api.get(f"/api/v1/products/{query}").json()["results"]]  # noqa: E731
    assert ids("?category=Home") == ["A", "B", "D"]
    assert ids("?category=Home > Kitchen&active=true") == ["A"]
    assert ids("?active=false") == ["D"]
    assert_error(api.get("/api/v1/products/?active=perhaps"), 400, "invalid")


def test_bulk_upsert_creates_and_replaces(api, store_a) -> None:
    first = api.post(
        "/api/v1/products/bulk/",
        {"items": [{"product_id": "A", "name": "Apple", "price": "1.00"}, {"product_id": "B", "name": "Banana"}]},
    )
    assert first.status_code == 200 and first.json() == {"created": ["A", "B"], "updated": []}
    second = api.post(
        "/api/v1/products/bulk/",
        {"items": [{"product_id": "B", "name": "Blueberry", "price": "3.00"}, {"product_id": "C", "name": "Cherry"}]},
    )
    assert second.json() == {"created": ["C"], "updated": ["B"]}
    with tenant_context(store_a):
        assert dict(Product.objects.values_list("external_id", "name")) == {
            "A": "Apple",
            "B": "Blueberry",
            "C": "Cherry",
        }
        assert Product.objects.get(external_id="B").price == Decimal("3.00")


def test_bulk_upsert_is_all_or_nothing_with_per_item_errors(api, store_a) -> None:
    ProductFactory(tenant=store_a, external_id="KEEP", name="Kept")
    response = api.post(
        "/api/v1/products/bulk/",
        {
            "items": [
                {"product_id": "KEEP", "name": "Changed"},
                {"product_id": "NEW", "name": "New"},
                {"product_id": "BAD", "name": "Bad", "price": "ten euros"},
                {"product_id": "BAD2", "name": "", "tags": "not-a-list"},
            ]
        },
    )
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == {"items[2].price", "items[3].name", "items[3].tags"}
    with tenant_context(store_a):
        assert list(Product.objects.values_list("external_id", "name")) == [("KEEP", "Kept")]


def test_bulk_upsert_refuses_the_same_id_twice(api, store_a) -> None:
    error = assert_error(
        api.post(
            "/api/v1/products/bulk/",
            {
                "items": [
                    {"product_id": "A", "name": "a"},
                    {"product_id": "B", "name": "b"},
                    {"product_id": "A", "name": "c"},
                ]
            },
        ),
        400,
        "invalid",
    )
    assert list(error["fields"]) == ["items[2].product_id"]
    assert _count(store_a, Product) == 0


def test_more_than_1000_items_are_refused_and_nothing_is_written(api, store_a) -> None:
    items = [{"product_id": f"P{i}", "name": f"Product {i}"} for i in range(1001)]
    error = assert_error(api.post("/api/v1/products/bulk/", {"items": items}), 400, "invalid")
    assert "items" in error["fields"] and "1000" in error["fields"]["items"][0]
    assert _count(store_a, Product) == 0
    assert api.post("/api/v1/products/bulk/", {"items": items[:1000]}).status_code == 200
    assert _count(store_a, Product) == 1000


def test_page_size_is_capped(api, store_a) -> None:
    api.post("/api/v1/products/bulk/", {"items": [{"product_id": f"P{i:03d}", "name": "x"} for i in range(230)]})
    default = api.get("/api/v1/products/").json()
    assert default["count"] == 230 and len(default["results"]) == 50
    capped = api.get("/api/v1/products/?limit=100000").json()
    assert len(capped["results"]) == 200 and capped["next"] is not None
    rest = api.get("/api/v1/products/?limit=200&offset=200").json()
    assert [p["product_id"] for p in rest["results"]] == [f"P{i:03d}" for i in range(200, 230)]
    assert len(api.get("/api/v1/products/?limit=junk").json()["results"]) == 50


# -- wrong input ---------------------------------------------------------------------------------


def test_malformed_json_is_a_400_json_error(api, store_a) -> None:
    response = api.post("/api/v1/products/", '{"product_id": "P1", "name": ', content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert _count(store_a, Product) == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"product_id": "P1", "name": "x", "price": "abc"}, {"price"}),
        ({"product_id": "P1", "name": "x", "price": "-1"}, {"price"}),
        ({"product_id": "P1", "name": "x", "price": "1.005"}, {"price"}),
        ('{"product_id": "P1", "name": "x", "price": 1e400}', {"price"}),
        ({"product_id": "P1", "name": ["x"], "active": "maybe"}, {"name", "active"}),
        ({"product_id": 12.5, "name": "x", "tags": [{"a": 1}]}, {"tags[0]"}),
        ({"product_id": "P\x00", "name": "x\x07"}, {"product_id", "name"}),
        ({"product_id": "P1", "name": "x", "category": "Home >  > Pots"}, {"category"}),
        ({"product_id": "x" * 101, "name": "x"}, {"product_id"}),
        ({"name": "no id"}, {"product_id"}),
    ],
)
def test_wrong_types_and_values_get_field_errors(body, fields, api, store_a) -> None:
    response = (
        api.post("/api/v1/products/", body, content_type="application/json")
        if isinstance(body, str)
        else api.post("/api/v1/products/", body, format="json")
    )
    error = assert_error(response, 400, "invalid")
    assert set(error["fields"]) == fields
    assert _count(store_a, Product) == 0


def test_a_body_that_is_not_an_object_is_refused(api) -> None:
    for body in ("[]", '"text"', "123", "null"):
        response = api.post("/api/v1/products/", body, content_type="application/json")
        assert response.status_code == 400 and response.json()["error"]["code"] in ("invalid", "parse_error")


def test_unknown_routes_methods_and_media_types_answer_in_json(api) -> None:
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    assert "trailing slash" in assert_error(api.get("/api/v1/products"), 404, "not_found")["message"]
    assert_error(api.get("/api/v2/products/"), 404, "not_found")
    assert_error(api.put("/api/v1/products/"), 405, "method_not_allowed")
    assert_error(api.get("/api/v1/products/bulk/"), 405, "method_not_allowed")
    assert_error(
        api.post("/api/v1/products/", "product_id=P1", content_type="application/x-www-form-urlencoded"),
        415,
        "unsupported_media_type",
    )
    assert_error(api.get("/api/v1/products/?format=xml"), 404, "not_found")
    assert_error(api.get("/api/v1/products/", HTTP_ACCEPT="application/xml"), 406, "not_acceptable")


# -- customers -----------------------------------------------------------------------------------


def test_customers_round_trip_with_normalized_values(api, store_a) -> None:
    response = api.post(
        "/api/v1/customers/",
        {
            "customer_id": "C1",
            "email": "ada@example.org",
            "name": "Ada",
            "gender": "female",
            "country": "fr",
            "birth_year": 1990,
            "signed_up_at": "2024-05-01T08:00:00",
            "personalization_consent": False,
        },
    )
    assert response.status_code == 201
    body = api.get("/api/v1/customers/C1/").json()
    assert body["gender"] == "F" and body["country"] == "FR" and body["email"] == "ada@example.org"
    assert body["personalization_consent"] is False
    # A time without an offset is in the store's zone (Europe/Paris, UTC+2 in May).
    assert body["signed_up_at"] == "2024-05-01T06:00:00Z"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": "C1", "email": "not-an-address"}, "email"),
        ({"customer_id": "C1", "gender": "Q"}, "gender"),
        ({"customer_id": "C1", "country": "France"}, "country"),
        ({"customer_id": "C1", "birth_year": 1850}, "birth_year"),
        ({"customer_id": "C1", "birth_year": 3000}, "birth_year"),
        ({"customer_id": "C1", "signed_up_at": "yesterday"}, "signed_up_at"),
        ({"customer_id": "C1", "signed_up_at": "1900-01-01"}, "signed_up_at"),
    ],
)
def test_bad_customer_values_are_refused(body, field, api, store_a) -> None:
    error = assert_error(api.post("/api/v1/customers/", body), 400, "invalid")
    assert list(error["fields"]) == [field]
    assert _count(store_a, Customer) == 0


def test_customer_bulk_upsert_and_delete(api, store_a) -> None:
    response = api.post(
        "/api/v1/customers/bulk/",
        {"items": [{"customer_id": "C1", "email": "a@example.org"}, {"customer_id": "C2", "city": "Lyon"}]},
    )
    assert response.json() == {"created": ["C1", "C2"], "updated": []}
    assert api.delete("/api/v1/customers/C2/").status_code == 204
    assert [c["customer_id"] for c in api.get("/api/v1/customers/").json()["results"]] == ["C1"]


# -- orders --------------------------------------------------------------------------------------


def _catalog(store) -> None:
    ProductFactory(tenant=store, external_id="MUG", price=Decimal("8.00"))
    ProductFactory(tenant=store, external_id="TEA", price=Decimal("4.25"))
    CustomerFactory(tenant=store, external_id="C1")


def test_an_order_takes_product_prices_unless_given(api, store_a) -> None:
    _catalog(store_a)
    response = api.post(
        "/api/v1/orders/",
        {
            "order_id": "O1",
            "customer_id": "C1",
            "ordered_at": "2024-03-01T10:00:00",
            "channel": "web",
            "lines": [{"product_id": "MUG", "quantity": 2}, {"product_id": "TEA", "quantity": 1, "unit_price": "3.00"}],
        },
    )
    assert response.status_code == 201
    order = response.json()
    assert order["lines"] == [
        {"product_id": "MUG", "quantity": 2, "unit_price": "8.00"},
        {"product_id": "TEA", "quantity": 1, "unit_price": "3.00"},
    ]
    assert order["total"] == "19.00"
    assert order["ordered_at"] == "2024-03-01T09:00:00Z"  # Paris time without an offset


def test_replacing_an_orders_lines_keeps_prices_of_kept_lines(api, store_a) -> None:
    _catalog(store_a)
    api.post(
        "/api/v1/orders/",
        {
            "order_id": "O1",
            "customer_id": "C1",
            "ordered_at": "2024-03-01",
            "lines": [{"product_id": "MUG", "quantity": 1, "unit_price": "7.00"}, {"product_id": "TEA", "quantity": 1}],
        },
    )
    updated = api.patch("/api/v1/orders/O1/", {"lines": [{"product_id": "MUG", "quantity": 3}]}).json()
    assert updated["lines"] == [{"product_id": "MUG", "quantity": 3, "unit_price": "7.00"}]
    assert updated["customer_id"] == "C1"
    with tenant_context(store_a):
        assert OrderLine.objects.count() == 1


def test_a_guest_order_has_no_customer(api, store_a) -> None:
    _catalog(store_a)
    response = api.post(
        "/api/v1/orders/",
        {
            "order_id": "G1",
            "customer_id": None,
            "ordered_at": "2024-03-01",
            "lines": [{"product_id": "TEA", "quantity": 1}],
        },
    )
    assert response.status_code == 201 and response.json()["customer_id"] is None


def test_unknown_ids_and_duplicate_lines_refuse_the_order(api, store_a) -> None:
    _catalog(store_a)
    error = assert_error(
        api.post(
            "/api/v1/orders/",
            {
                "order_id": "O1",
                "customer_id": "NOBODY",
                "ordered_at": "2024-03-01",
                "lines": [
                    {"product_id": "MUG", "quantity": 1},
                    {"product_id": "GHOST", "quantity": 1},
                    {"product_id": "MUG", "quantity": 2},
                ],
            },
        ),
        400,
        "invalid",
    )
    assert set(error["fields"]) == {"customer_id", "lines[1].product_id", "lines[2].product_id"}
    assert _count(store_a, Order) == 0 and _count(store_a, OrderLine) == 0


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"product_id": "MUG", "quantity": 0}, "lines[0].quantity"),
        ({"product_id": "MUG", "quantity": -3}, "lines[0].quantity"),
        ({"product_id": "MUG", "quantity": "two"}, "lines[0].quantity"),
        ({"product_id": "MUG", "quantity": 10**30}, "lines[0].quantity"),
        ({"product_id": "MUG", "quantity": 1, "unit_price": "free"}, "lines[0].unit_price"),
    ],
)
def test_bad_order_lines_are_refused(line, field, api, store_a) -> None:
    _catalog(store_a)
    error = assert_error(
        api.post("/api/v1/orders/", {"order_id": "O1", "ordered_at": "2024-03-01", "lines": [line]}), 400, "invalid"
    )
    assert list(error["fields"]) == [field]


def test_order_bulk_upsert_is_all_or_nothing(api, store_a) -> None:
    _catalog(store_a)
    good = {
        "order_id": "O1",
        "customer_id": "C1",
        "ordered_at": "2024-03-01",
        "lines": [{"product_id": "MUG", "quantity": 1}],
    }
    bad = {
        "order_id": "O2",
        "customer_id": "C1",
        "ordered_at": "2024-03-02",
        "lines": [{"product_id": "NOPE", "quantity": 1}],
    }
    error = assert_error(api.post("/api/v1/orders/bulk/", {"items": [good, bad]}), 400, "invalid")
    assert list(error["fields"]) == ["items[1].lines[0].product_id"]
    assert _count(store_a, Order) == 0
    response = api.post(
        "/api/v1/orders/bulk/", {"items": [good, {**bad, "lines": [{"product_id": "TEA", "quantity": 4}]}]}
    )
    assert response.json() == {"created": ["O1", "O2"], "updated": []}
    again = api.post("/api/v1/orders/bulk/", {"items": [{**good, "lines": [{"product_id": "TEA", "quantity": 2}]}]})
    assert again.json() == {"created": [], "updated": ["O1"]}
    assert api.get("/api/v1/orders/O1/").json()["lines"] == [{"product_id": "TEA", "quantity": 2, "unit_price": "4.25"}]


def test_orders_filter_by_customer_and_time(api, store_a) -> None:
    _catalog(store_a)
    for order_id, when in (("O1", "2024-01-10T12:00:00Z"), ("O2", "2024-02-10T12:00:00Z")):
        api.post(
            "/api/v1/orders/",
            {
                "order_id": order_id,
                "customer_id": "C1",
                "ordered_at": when,
                "lines": [{"product_id": "TEA", "quantity": 1}],
            },
        )
    ids = lambda q: [o["order_id"] for o in api.get(f"/api/v1/orders/{q}").json()["results"]]  # noqa: E731
    assert ids("?customer_id=C1") == ["O1", "O2"]
    assert ids("?ordered_after=2024-02-01T00:00:00Z") == ["O2"]
    assert ids("?ordered_before=2024-02-01T00:00:00Z") == ["O1"]
    assert ids("?customer_id=C2") == []
    assert_error(api.get("/api/v1/orders/?ordered_after=soon"), 400, "invalid")
    with tenant_context(store_a):
        assert Order.objects.get(external_id="O1").ordered_at == datetime(2024, 1, 10, 12, tzinfo=UTC)


def test_a_time_without_offset_is_read_in_each_stores_own_zone_request_after_request(
    client_for, store_a, store_b
) -> None:
    # Paris is UTC+1 and New York UTC-5 in January: 08:30 there is 07:30 and 13:30 UTC.
    clients = {}
    for store in (store_a, store_b):
        _catalog(store)
        clients[store.slug] = client = client_for(tenant=store)
        order = {"order_id": "O1", "customer_id": "C1", "ordered_at": "2024-01-10T10:00:00Z"}
        assert (
            client.post("/api/v1/orders/", {**order, "lines": [{"product_id": "TEA", "quantity": 1}]}).status_code
            == 201
        )

    def after(slug: str) -> list[str]:
        response = clients[slug].get("/api/v1/orders/?ordered_after=2024-01-10T08:30:00")
        return [o["order_id"] for o in response.json()["results"]]

    for _ in range(2):  # alternating stores: each request in its own store's zone
        assert after("alpha") == ["O1"]  # after 07:30 UTC
        assert after("beta") == []  # after 13:30 UTC
