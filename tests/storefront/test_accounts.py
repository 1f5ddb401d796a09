"""Shopper accounts: sign-up, sign-in with lock-out, sign-out, and the wall between stores."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client

from retailsite.commerce.models import Customer
from retailsite.commerce.selectors import customer_get_by_email
from retailsite.commerce.services import customer_sign_up
from retailsite.storefront.ratelimit import MAX_FAILURES_PER_ACCOUNT
from retailsite.tenancy.context import tenant_context

from .conftest import SHOPPER_PASSWORD, Shop, sign_in

pytestmark = pytest.mark.django_db


def greeting(client: Client, url: str) -> str | None:
    match = re.search(r'<li class="greeting">(.*?)</li>', client.get(url).content.decode())
    return match.group(1) if match else None


def test_sign_up_creates_a_customer_of_this_store_with_a_hashed_password(client: Client, shop: Shop) -> None:
    response = client.post(
        shop.url("account/sign-up/"),
        {
            "name": "Dora",
            "email": "Dora@Example.com ",
            "password": "violet harbour lantern 7",
            "marketing_consent": "on",
        },
    )
    assert response.status_code == 302 and response["Location"] == shop.home
    assert greeting(client, shop.home) == "Hi, Dora"
    with tenant_context(shop.tenant):
        customer = customer_get_by_email("dora@example.com")
        assert customer is not None and customer.marketing_consent and customer.personalization_consent
        assert customer.password.startswith(("md5$", "pbkdf2_sha256$")) and "lantern" not in customer.password
    # The e-mail is stored encrypted (raw SQL sees the row, not the address), found through its blind index.
    with tenant_context(shop.tenant), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM commerce_customer WHERE email_hash = %s", [customer.email_hash])
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM commerce_customer WHERE email ILIKE %s", ["%dora@example.com%"])
        assert cursor.fetchone() == (0,)


def test_sign_up_refuses_a_taken_email_and_a_weak_password(client: Client, shop: Shop) -> None:
    taken = client.post(
        shop.url("account/sign-up/"), {"email": shop.shopper_email, "password": "violet harbour lantern 7"}
    )
    assert taken.status_code == 400 and "could not create an account" in taken.content.decode()
    weak = client.post(shop.url("account/sign-up/"), {"email": "eve@example.com", "password": "12345678"})
    assert weak.status_code == 400 and "too common" in weak.content.decode()
    with tenant_context(shop.tenant):
        assert customer_get_by_email("eve@example.com") is None


def test_an_imported_customer_without_a_password_cannot_be_claimed_or_signed_into(client: Client, shop: Shop) -> None:
    with tenant_context(shop.tenant):
        Customer.objects.filter(pk=shop.shopper.pk).update(password="")
    assert sign_in(client, shop, password="").status_code == 400
    assert sign_in(client, shop).status_code == 400
    claimed = client.post(
        shop.url("account/sign-up/"), {"email": shop.shopper_email, "password": "violet harbour lantern 7"}
    )
    assert claimed.status_code == 400
    assert greeting(client, shop.home) is None


def test_sign_in_with_a_wrong_password_is_refused(client: Client, shop: Shop) -> None:
    response = sign_in(client, shop, password="not the password")
    assert response.status_code == 400
    assert "do not match" in response.content.decode()
    assert greeting(client, shop.home) is None
    assert sign_in(client, shop).status_code == 302
    assert greeting(client, shop.home) == "Hi, Ana"


def test_repeated_failures_lock_the_account_even_for_the_right_password(client: Client, shop: Shop) -> None:
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert sign_in(client, shop, password="guess").status_code == 400
    locked = sign_in(client, shop)
    assert locked.status_code == 429 and "Too many failed attempts" in locked.content.decode()
    assert greeting(client, shop.home) is None
    # Another account from the same address is not locked by someone else's failures.
    with tenant_context(shop.tenant):
        customer_sign_up(email="fay@example.com", password="violet harbour lantern 7")
    assert sign_in(client, shop, email="fay@example.com", password="violet harbour lantern 7").status_code == 302


def test_sign_out_needs_a_post_and_forgets_the_shopper(signed_in_client: Client, shop: Shop) -> None:
    assert signed_in_client.get(shop.url("account/sign-out/")).status_code == 405
    assert greeting(signed_in_client, shop.home) == "Hi, Ana"
    assert signed_in_client.post(shop.url("account/sign-out/")).status_code == 302
    assert greeting(signed_in_client, shop.home) is None


def test_sign_in_changes_the_session_key(client: Client, shop: Shop) -> None:
    client.get(shop.home)
    before = client.cookies["sessionid"].value
    sign_in(client, shop)
    assert client.cookies["sessionid"].value != before


def test_a_shopper_of_store_a_is_nobody_at_store_b(client: Client, shop: Shop, other_shop: Shop) -> None:
    assert sign_in(client, shop).status_code == 302
    assert greeting(client, shop.home) == "Hi, Ana"
    # Same browser session, other store: anonymous there.
    assert greeting(client, other_shop.home) is None
    # A's credentials mean nothing at B: the e-mail is looked up among B's customers only.
    assert sign_in(client, other_shop, email=shop.shopper_email).status_code == 400
    assert greeting(client, other_shop.home) is None
    # Even a session that names A's customer under B's key finds nobody: the look-up runs as store B.
    session = client.session
    session[f"shopper:{other_shop.tenant.pk}:customer"] = shop.shopper.pk
    session.save()
    assert greeting(client, other_shop.home) is None
    assert greeting(client, shop.home) == "Hi, Ana"


def test_store_b_products_never_appear_on_store_a_pages(client: Client, shop: Shop, other_shop: Shop) -> None:
    bicycle = other_shop.products["Beta Bicycle"]
    for path in (
        shop.home,
        shop.url(f"c/{shop.garden.pk}/"),
        shop.url("search/?q=bicycle"),
        shop.url("search/?q=teapot"),
        shop.product_url("Garden Hose"),
    ):
        page = client.get(path).content.decode()
        assert "Beta Bicycle" not in page and "Beta Teapot" not in page, path
    assert client.get(shop.url(f"p/{bicycle.pk}/")).status_code == 404
    assert client.get(shop.url(f"c/{other_shop.garden.pk}/")).status_code == 404
    assert client.post(shop.url("cart/add/"), {"product": bicycle.pk, "quantity": 1}).status_code == 404
    assert "Beta Bicycle" not in client.get(shop.url("cart/")).content.decode()


def test_the_cart_of_store_a_stays_in_store_a(client: Client, shop: Shop, other_shop: Shop) -> None:
    client.post(shop.url("cart/add/"), {"product": shop.products["Leaf Rake"].pk, "quantity": 1})
    assert "Leaf Rake" in client.get(shop.url("cart/")).content.decode()
    other_cart = client.get(other_shop.url("cart/")).content.decode()
    assert "Leaf Rake" not in other_cart and "Your cart is empty" in other_cart


def test_sign_in_redirects_only_inside_the_store(client: Client, shop: Shop) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/admin/", "/s/beta/"):
        response = client.post(
            shop.url("account/sign-in/"), {"email": shop.shopper_email, "password": SHOPPER_PASSWORD, "next": target}
        )
        assert response["Location"] == shop.home, target
    response = client.post(
        shop.url("account/sign-in/"),
        {"email": shop.shopper_email, "password": SHOPPER_PASSWORD, "next": shop.url("cart/")},
    )
    assert response["Location"] == shop.url("cart/")


def test_probing_which_emails_have_accounts_through_sign_up_is_rate_limited(client: Client, shop: Shop) -> None:
    """F9: the answer to a taken e-mail is neutral, and an address asking too often is refused."""
    from retailsite.storefront.ratelimit import MAX_TAKEN_SIGN_UPS_PER_IP

    for _ in range(MAX_TAKEN_SIGN_UPS_PER_IP):
        taken = client.post(
            shop.url("account/sign-up/"), {"email": shop.shopper_email, "password": "violet harbour lantern 7"}
        )
        assert taken.status_code == 400 and "already exists" not in taken.content.decode()
    refused = client.post(
        shop.url("account/sign-up/"), {"email": "new-person@example.com", "password": "violet harbour lantern 7"}
    )
    assert refused.status_code == 429
    with tenant_context(shop.tenant):
        assert customer_get_by_email(email="new-person@example.com") is None
