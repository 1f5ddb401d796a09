"""Bad input gets a 4xx page, never a 500, and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from retailsite.commerce.models import Order, Product
from retailsite.tenancy.context import tenant_context

from .conftest import Shop, sign_in

pytestmark = pytest.mark.django_db


def cart_is_empty(client: Client, shop: Shop) -> bool:
    return "Your cart is empty" in client.get(shop.url("cart/")).content.decode()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"product": 987654321, "quantity": 1}, 404),  # unknown product
        ({"product": "PXYZ", "quantity": 1}, 400),  # not an id
        ({"product": 10**30, "quantity": 1}, 400),  # beyond a bigint
        ({"quantity": 1}, 400),  # missing product
        ({"product": "__KNOWN__", "quantity": -1}, 400),  # negative quantity
        ({"product": "__KNOWN__", "quantity": 0}, 400),
        ({"product": "__KNOWN__", "quantity": 1000}, 400),
        ({"product": "__KNOWN__", "quantity": "two"}, 400),
        ({"product": "__KNOWN__"}, 400),
    ],
)
def test_bad_add_to_cart_is_refused(client: Client, shop: Shop, data: dict, status: int) -> None:
    data = {k: (shop.products["Blue Mug"].pk if v == "__KNOWN__" else v) for k, v in data.items()}
    response = client.post(shop.url("cart/add/"), data)
    assert response.status_code == status
    assert "Back to the store" in response.content.decode()  # the store's own error page
    assert cart_is_empty(client, shop)
    assert shop.events() == []


def test_inactive_products_are_not_found_and_cannot_be_added(client: Client, shop: Shop) -> None:
    mug = shop.products["Blue Mug"]
    with tenant_context(shop.tenant):
        Product.objects.filter(pk=mug.pk).update(active=False)
    assert client.get(shop.product_url("Blue Mug")).status_code == 404
    assert client.post(shop.url("cart/add/"), {"product": mug.pk, "quantity": 1}).status_code == 404


def test_cart_update_of_a_product_not_in_the_cart_is_not_found(client: Client, shop: Shop) -> None:
    response = client.post(shop.url("cart/update/"), {"product": shop.products["Blue Mug"].pk, "quantity": 2})
    assert response.status_code == 404
    assert client.post(shop.url("cart/update/"), {"product": 1, "quantity": -3}).status_code == 400


def test_posts_without_a_csrf_token_are_forbidden(shop: Shop) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(shop.home)
    for path, data in [
        ("cart/add/", {"product": shop.products["Blue Mug"].pk, "quantity": 1}),
        ("account/sign-in/", {"email": shop.shopper_email, "password": "x"}),
        ("account/sign-up/", {"email": "new@example.com", "password": "violet harbour lantern 7"}),
        ("privacy/", {}),
        ("checkout/", {}),
    ]:
        assert client.post(shop.url(path), data).status_code == 403, path
    assert cart_is_empty(client, shop)
    assert shop.events() == []


def test_wrong_methods_are_refused(client: Client, shop: Shop) -> None:
    assert client.get(shop.url("cart/add/")).status_code == 405
    assert client.get(shop.url("cart/update/")).status_code == 405
    assert client.post(shop.home).status_code == 405
    assert client.delete(shop.url("checkout/")).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "p/99999999999999999999999/",  # beyond a bigint
        "p/0/",
        "c/99999999999999999999999/",
        "c/424242/",
        "orders/nope/",
        "no-such-page/",
    ],
)
def test_unknown_things_are_not_found(client: Client, shop: Shop, path: str) -> None:
    if path.startswith("orders/"):
        sign_in(client, shop)
    assert client.get(shop.url(path)).status_code == 404


def test_junk_query_parameters_are_harmless(client: Client, shop: Shop) -> None:
    assert client.get(shop.url(f"c/{shop.kitchen.pk}/"), {"page": "abc"}).status_code == 200
    assert client.get(shop.url(f"c/{shop.kitchen.pk}/"), {"page": "99999"}).status_code == 200
    assert client.get(shop.product_url("Blue Mug"), {"rid": "x" * 5000}).status_code == 200
    assert client.get(shop.url("search/"), {"q": "k" * 201}).status_code == 400
    assert client.get(shop.url("search/"), {"q": "kettle\x00"}).status_code == 400
    assert client.get(shop.url("account/sign-in/"), {"next": "javascript:alert(1)"}).status_code == 200


def test_malformed_sign_in_and_sign_up_forms_are_400(client: Client, shop: Shop) -> None:
    assert client.post(shop.url("account/sign-in/"), {}).status_code == 400
    assert client.post(shop.url("account/sign-in/"), {"email": "not-an-email", "password": "x"}).status_code == 400
    assert client.post(shop.url("account/sign-up/"), {"email": "a@b.example", "password": ""}).status_code == 400
    assert client.post(shop.url("privacy/"), {"personalization": "on"}).status_code == 302


def test_a_refused_checkout_places_no_order(client: Client, shop: Shop) -> None:
    sign_in(client, shop)
    response = client.post(shop.url("checkout/"))  # empty cart
    assert response.status_code == 302 and response["Location"] == shop.url("cart/")
    with tenant_context(shop.tenant):
        assert not Order.objects.filter(channel="web").exists()
