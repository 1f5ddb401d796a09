"""Staff edit orders and their lines in the admin through the commerce write path (services.order_save): the lines
follow the rules every other path follows (a line without a price keeps its price, a new one takes the product's;
one line per product, refused with the service's message before anything is written)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from retailsite.commerce.models import Order, OrderLine
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Role
from tests.factories import (
    CustomerFactory,
    MembershipFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    TenantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    store = TenantFactory(slug="alpha")
    kettle = ProductFactory(tenant=store, external_id="KETTLE", price=Decimal("24.90"))
    mug = ProductFactory(tenant=store, external_id="MUG", price=Decimal("6.50"))
    teapot = ProductFactory(tenant=store, external_id="TEAPOT", price=Decimal("30.00"))
    customer = CustomerFactory(tenant=store, external_id="ALICE")
    order = OrderFactory(tenant=store, external_id="O-1", customer=customer, channel="web")
    kettle_line = OrderLineFactory(tenant=store, order=order, product=kettle, quantity=1, unit_price=Decimal("20.00"))
    mug_line = OrderLineFactory(tenant=store, order=order, product=mug, quantity=2, unit_price=Decimal("6.00"))
    return {
        "store": store,
        "kettle": kettle,
        "mug": mug,
        "teapot": teapot,
        "customer": customer,
        "order": order,
        "kettle_line": kettle_line,
        "mug_line": mug_line,
    }


def order_form(order_id: str, customer_pk: int, lines: list[dict], *, initial: int) -> dict:
    """The admin's order form as a browser posts it (the lines inline included)."""
    data = {
        "external_id": order_id,
        "customer": customer_pk,
        "ordered_at_0": "2026-03-02",
        "ordered_at_1": "10:00:00",
        "channel": "web",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        data.update({f"lines-{index}-{key}": value for key, value in line.items()})
    return data


def stored_lines(store, order_pk: int) -> dict[str, tuple[int, Decimal]]:
    with tenant_context(store):
        return {
            line.product.external_id: (line.quantity, line.unit_price)
            for line in OrderLine.objects.filter(order_id=order_pk).select_related("product")
        }


def manager_client(client, store):
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)
    return client


def test_an_edit_of_the_lines_follows_the_write_path_rules(client, shop) -> None:
    order = shop["order"]
    lines = [
        # The kettle's quantity changes and its price is left empty: it keeps the price it was sold at.
        {"id": shop["kettle_line"].pk, "order": order.pk, "product": shop["kettle"].pk, "quantity": "3"},
        # The mug's line is deleted.
        {
            "id": shop["mug_line"].pk,
            "order": order.pk,
            "product": shop["mug"].pk,
            "quantity": "2",
            "unit_price": "6.00",
            "DELETE": "on",
        },
        # A new teapot line without a price: the product's price.
        {"order": order.pk, "product": shop["teapot"].pk, "quantity": "1", "unit_price": ""},
    ]
    response = manager_client(client, shop["store"]).post(
        f"/admin/commerce/order/{order.pk}/change/",
        order_form("O-1", shop["customer"].pk, lines, initial=2),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert stored_lines(shop["store"], order.pk) == {
        "KETTLE": (3, Decimal("20.00")),
        "TEAPOT": (1, Decimal("30.00")),
    }


def test_a_product_on_two_lines_is_refused_with_the_services_message(client, shop) -> None:
    order = shop["order"]
    before = stored_lines(shop["store"], order.pk)
    lines = [
        {"id": shop["kettle_line"].pk, "order": order.pk, "product": shop["kettle"].pk, "quantity": "1"},
        {"id": shop["mug_line"].pk, "order": order.pk, "product": shop["mug"].pk, "quantity": "2"},
        {"order": order.pk, "product": shop["kettle"].pk, "quantity": "4", "unit_price": "19.00"},
    ]
    response = manager_client(client, shop["store"]).post(
        f"/admin/commerce/order/{order.pk}/change/",
        order_form("O-1", shop["customer"].pk, lines, initial=2),
    )

    assert response.status_code == 200
    assert "give one line per product" in response.content.decode()
    assert stored_lines(shop["store"], order.pk) == before


def test_a_new_order_is_written_in_the_store_with_its_lines(client, shop) -> None:
    lines = [{"product": shop["mug"].pk, "quantity": "5", "unit_price": ""}]
    response = manager_client(client, shop["store"]).post(
        "/admin/commerce/order/add/", order_form("O-2", shop["customer"].pk, lines, initial=0)
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(shop["store"]):
        order = Order.objects.get(external_id="O-2")
    assert order.tenant_id == shop["store"].pk and order.customer_id == shop["customer"].pk
    assert stored_lines(shop["store"], order.pk) == {"MUG": (5, Decimal("6.50"))}


def test_a_platform_superuser_cannot_put_another_stores_product_on_an_order(client, shop) -> None:
    other = TenantFactory(slug="beta")
    foreign = ProductFactory(tenant=other, external_id="KETTLE", price=Decimal("99.00"))
    order = shop["order"]
    before = stored_lines(shop["store"], order.pk)
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "x-long-password-1"))
    lines = [
        {"id": shop["kettle_line"].pk, "order": order.pk, "product": shop["kettle"].pk, "quantity": "1"},
        {"id": shop["mug_line"].pk, "order": order.pk, "product": shop["mug"].pk, "quantity": "2"},
        {"order": order.pk, "product": foreign.pk, "quantity": "1", "unit_price": ""},
    ]
    response = client.post(
        f"/admin/commerce/order/{order.pk}/change/",
        order_form("O-1", shop["customer"].pk, lines, initial=2),
    )

    assert response.status_code == 200 and "belongs to another store" in response.content.decode()
    assert stored_lines(shop["store"], order.pk) == before


def test_deleting_an_order_in_the_admin_removes_it_with_its_lines(client, shop) -> None:
    order = shop["order"]
    response = manager_client(client, shop["store"]).post(f"/admin/commerce/order/{order.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    with tenant_context(shop["store"]):
        assert not Order.objects.filter(pk=order.pk).exists()
        assert not OrderLine.objects.filter(order_id=order.pk).exists()
