"""Browsing, the cart and checkout: events recorded at once, "because you viewed" live, real orders."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from retailsite.commerce.models import Customer, Event, Order, Product
from retailsite.commerce.services import CartLine, CheckoutRefused, order_place
from retailsite.tenancy.context import tenant_context
from tests.factories import CustomerFactory, FollowFactory, OrderFactory, OrderLineFactory, ProductFactory

from .conftest import Shop, sign_in

pytestmark = pytest.mark.django_db

RID = "v0-0123456789abcdef"


def section(page: str, slug: str) -> str:
    """The HTML of one recommendation section of a page ('' when the page has none)."""
    if f'id="{slug}"' not in page:
        return ""
    return page.split(f'id="{slug}"', 1)[1].split("</section>", 1)[0]


def cart_table(client: Client, shop: Shop) -> str:
    page = client.get(shop.url("cart/")).content.decode()
    return page.split('<table class="lines">', 1)[1].split("</table>", 1)[0] if "<table" in page else ""


def test_a_view_changes_because_you_viewed_on_the_next_page_load(client: Client, shop: Shop) -> None:
    before = client.get(shop.home).content.decode()
    assert "Because you viewed" not in before

    client.get(shop.product_url("Garden Hose"))

    after = client.get(shop.home).content.decode()
    viewed = section(after, "because-viewed")
    assert "Because you viewed Garden Hose" in viewed
    # Without a trained model "similar" means the same category: the other garden products.
    assert "Leaf Rake" in viewed and "Red Mug" in viewed
    assert "Copper Kettle" not in viewed and "Garden Hose</span>" not in viewed


def test_the_latest_view_names_the_section(client: Client, shop: Shop) -> None:
    client.get(shop.product_url("Garden Hose"))
    client.get(shop.product_url("Copper Kettle"))
    page = client.get(shop.home).content.decode()
    assert "Because you viewed Copper Kettle" in section(page, "because-viewed")


def test_views_are_recorded_with_the_recommendation_id_of_the_clicked_link(client: Client, shop: Shop) -> None:
    client.get(shop.product_url("Leaf Rake") + f"?rid={RID}")
    client.get(shop.product_url("Blue Mug") + "?rid=not-a-real-id")
    events = shop.events()
    assert [(e.event_type, e.product_id, e.recommendation_id) for e in events] == [
        ("view", shop.products["Leaf Rake"].pk, RID),
        ("view", shop.products["Blue Mug"].pk, ""),
    ]
    assert events[0].session_id and events[0].customer_id is None


def test_a_signed_in_shoppers_events_carry_the_customer(signed_in_client: Client, shop: Shop) -> None:
    signed_in_client.get(shop.product_url("Leaf Rake"))
    (event,) = shop.events()
    assert event.customer_id == shop.shopper.pk


def test_add_to_cart_records_a_cart_event_and_fills_the_cart(client: Client, shop: Shop) -> None:
    rake = shop.products["Leaf Rake"]
    response = client.post(shop.url("cart/add/"), {"product": rake.pk, "quantity": 2, "rid": RID})
    assert response.status_code == 302 and response["Location"] == shop.url("cart/")
    client.post(shop.url("cart/add/"), {"product": rake.pk, "quantity": 1})
    cart = cart_table(client, shop)
    assert "Leaf Rake" in cart and 'value="3"' in cart and "€37.50" in cart
    assert [(e.event_type, e.recommendation_id) for e in shop.events()] == [("cart", RID), ("cart", "")]


def test_cart_quantity_can_be_changed_and_removed(client: Client, shop: Shop) -> None:
    rake, hose = shop.products["Leaf Rake"], shop.products["Garden Hose"]
    client.post(shop.url("cart/add/"), {"product": rake.pk, "quantity": 1})
    client.post(shop.url("cart/add/"), {"product": hose.pk, "quantity": 1})
    client.post(shop.url("cart/update/"), {"product": rake.pk, "quantity": 4})
    client.post(shop.url("cart/update/"), {"product": hose.pk, "quantity": 0})
    cart = cart_table(client, shop)
    assert "Leaf Rake" in cart and "Garden Hose" not in cart and "€50.00" in cart


def test_checkout_creates_an_order_at_current_prices_with_purchase_events(client: Client, shop: Shop) -> None:
    kettle, rake = shop.products["Copper Kettle"], shop.products["Leaf Rake"]
    client.post(shop.url("cart/add/"), {"product": kettle.pk, "quantity": 2, "rid": RID})
    client.post(shop.url("cart/add/"), {"product": rake.pk, "quantity": 1})
    with tenant_context(shop.tenant):  # the price changes after the product went into the cart
        Product.objects.filter(pk=kettle.pk).update(price=Decimal("30.00"))
    sign_in(client, shop)

    response = client.post(shop.url("checkout/"))

    assert response.status_code == 302
    with tenant_context(shop.tenant):
        order = Order.objects.get(customer=shop.shopper)
        lines = {line.product_id: (line.quantity, line.unit_price) for line in order.lines.all()}
        purchases = list(Event.objects.filter(event_type="purchase").order_by("product_id"))
    assert response["Location"] == shop.url(f"orders/{order.external_id}/")
    assert order.channel == "web"
    assert lines == {kettle.pk: (2, Decimal("30.00")), rake.pk: (1, Decimal("12.50"))}
    assert {(e.product_id, e.customer_id, e.recommendation_id) for e in purchases} == {
        (kettle.pk, shop.shopper.pk, RID),
        (rake.pk, shop.shopper.pk, ""),
    }
    page = client.get(response["Location"]).content.decode()
    assert order.external_id in page and "€72.50" in page
    # The cart is empty afterwards, so submitting again places no second order.
    assert client.post(shop.url("checkout/")).status_code == 302
    with tenant_context(shop.tenant):
        assert Order.objects.filter(customer=shop.shopper).count() == 1


def test_anonymous_checkout_must_sign_in_first_and_keeps_the_cart(client: Client, shop: Shop) -> None:
    client.post(shop.url("cart/add/"), {"product": shop.products["Blue Mug"].pk, "quantity": 1})
    response = client.post(shop.url("checkout/"))
    assert response.status_code == 302 and "account/sign-in/" in response["Location"]
    with tenant_context(shop.tenant):
        assert not Order.objects.filter(channel="web").exists()
    # Signing up from the checkout prompt comes back to the checkout, cart intact.
    signed_up = client.post(
        shop.url("account/sign-up/"),
        {
            "name": "Cleo",
            "email": "cleo@example.com",
            "password": "violet harbour lantern 7",
            "next": shop.url("checkout/"),
        },
    )
    assert signed_up["Location"] == shop.url("checkout/")
    assert client.post(shop.url("checkout/")).status_code == 302
    with tenant_context(shop.tenant):
        order = Order.objects.get(channel="web")
        assert order.customer.email == "cleo@example.com"
        assert [line.product_id for line in order.lines.all()] == [shop.products["Blue Mug"].pk]


def test_a_product_withdrawn_while_in_the_cart_refuses_checkout(client: Client, shop: Shop) -> None:
    client.post(shop.url("cart/add/"), {"product": shop.products["Blue Mug"].pk, "quantity": 1})
    with tenant_context(shop.tenant):
        Product.objects.filter(pk=shop.products["Blue Mug"].pk).update(active=False)
    sign_in(client, shop)
    response = client.post(shop.url("checkout/"))
    assert response.status_code == 409
    assert "No longer available: Blue Mug" in response.content.decode()
    with tenant_context(shop.tenant):
        assert not Order.objects.filter(channel="web").exists()


def test_another_customers_order_page_is_not_found(client: Client, shop: Shop) -> None:
    with tenant_context(shop.tenant):
        someone_elses = Order.objects.exclude(customer=shop.shopper).first()
    sign_in(client, shop)
    assert client.get(shop.url(f"orders/{someone_elses.external_id}/")).status_code == 404


def test_search_results_are_reranked_for_the_shopper(client: Client, shop: Shop) -> None:
    def mugs() -> list[str]:
        page = client.get(shop.url("search/?q=mug")).content.decode()
        return re.findall(r'<span class="card-name">(.*?)</span>', page)

    # Same text match; Blue Mug is the more popular one.
    assert mugs() == ["Blue Mug", "Red Mug"]
    client.get(shop.product_url("Garden Hose"))  # Red Mug sits in Garden
    assert mugs() == ["Red Mug", "Blue Mug"]


def test_order_place_adds_up_repeated_products_and_refuses_bad_carts(shop: Shop) -> None:
    mug, rake = shop.products["Blue Mug"], shop.products["Leaf Rake"]
    with tenant_context(shop.tenant):
        order = order_place(
            customer=shop.shopper, lines=[CartLine(mug.pk, 2, RID), CartLine(rake.pk, 1), CartLine(mug.pk, 3)]
        )
        assert sorted((line.product_id, line.quantity) for line in order.lines.all()) == sorted(
            [(mug.pk, 5), (rake.pk, 1)]
        )
        for bad in ([], [CartLine(mug.pk, 0)], [CartLine(mug.pk, 60), CartLine(mug.pk, 60)], [CartLine(987654321, 1)]):
            with pytest.raises(CheckoutRefused):
                order_place(customer=shop.shopper, lines=bad)
        assert Order.objects.filter(customer=shop.shopper).count() == 1


def test_a_past_purchase_brings_because_you_bought(signed_in_client: Client, shop: Shop) -> None:
    kettle = shop.products["Copper Kettle"]
    with tenant_context(shop.tenant):
        order_place(customer=shop.shopper, lines=[CartLine(kettle.pk, 1)])
    page = signed_in_client.get(shop.home).content.decode()
    bought = section(page, "because-bought")
    assert "Because you bought Copper Kettle" in bought
    # No trained model: the fallback is the kettle's own category, never the kettle itself.
    assert "Steel Kettle" in bought and "Glass Kettle" in bought
    assert "Copper Kettle</span>" not in bought and "Garden Hose" not in bought


def test_people_you_follow_bring_their_purchases(signed_in_client: Client, shop: Shop) -> None:
    with tenant_context(shop.tenant):
        bob = Customer.objects.get(external_id="alpha-bob")
        carol = CustomerFactory(tenant=shop.tenant, external_id="alpha-carol")
        # Ten best sellers bought by a stranger fill "recommended for you" ...
        for index in range(10):
            filler = ProductFactory(tenant=shop.tenant, name=f"Best Seller {index}", category=shop.garden)
            for _ in range(5):
                OrderLineFactory(
                    tenant=shop.tenant, order=OrderFactory(tenant=shop.tenant, customer=carol), product=filler
                )
    assert "Popular with people you follow" not in signed_in_client.get(shop.home).content.decode()
    with tenant_context(shop.tenant):
        FollowFactory(tenant=shop.tenant, follower=shop.shopper, followee=bob)
    followed = section(signed_in_client.get(shop.home).content.decode(), "followed")
    # ... while the person Ana follows bought the mug and the kettles.
    assert "Popular with people you follow" in followed
    names = re.findall(r'<span class="card-name">(.*?)</span>', followed)
    assert sorted(names) == ["Blue Mug", "Copper Kettle", "Steel Kettle"]  # one follower each: a tie
    assert followed.count("People you follow bought this") == 3


def test_a_new_purchase_by_someone_you_follow_shows_on_the_next_home_page(signed_in_client: Client, shop: Shop) -> None:
    with tenant_context(shop.tenant):
        bob = Customer.objects.get(external_id="alpha-bob")
        FollowFactory(tenant=shop.tenant, follower=shop.shopper, followee=bob)
        hose = Product.objects.get(name="Garden Hose")
        carol = CustomerFactory(tenant=shop.tenant, external_id="alpha-carol")
        for index in range(10):  # best sellers fill "recommended for you", so Bob's buys get their own section
            filler = ProductFactory(tenant=shop.tenant, name=f"Best Seller {index}", category=shop.garden)
            for _ in range(5):
                OrderLineFactory(
                    tenant=shop.tenant, order=OrderFactory(tenant=shop.tenant, customer=carol), product=filler
                )
    before = section(signed_in_client.get(shop.home).content.decode(), "followed")
    # The home page's sections are now kept for this shopper.
    assert "Blue Mug" in before and "Garden Hose" not in before
    with tenant_context(shop.tenant):
        OrderLineFactory(tenant=shop.tenant, order=OrderFactory(tenant=shop.tenant, customer=bob), product=hose)
    after = section(signed_in_client.get(shop.home).content.decode(), "followed")
    assert "Garden Hose" in after


def test_category_pages_are_ranked_for_the_shopper(client: Client, shop: Shop) -> None:
    def kitchen() -> list[str]:
        page = client.get(shop.url(f"c/{shop.kitchen.pk}/")).content.decode()
        return re.findall(r'<span class="card-name">(.*?)</span>', page)

    assert kitchen() == ["Blue Mug", "Copper Kettle", "Steel Kettle", "Glass Kettle"]  # by popularity
    client.get(shop.product_url("Steel Kettle"))
    # The other kettles move up, because the shopper just looked at one.
    assert kitchen()[:2] == ["Copper Kettle", "Glass Kettle"]
    page = client.get(shop.url(f"c/{shop.kitchen.pk}/")).content.decode()
    assert "Because you viewed Steel Kettle" in page
