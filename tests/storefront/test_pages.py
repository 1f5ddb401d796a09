"""Every storefront page renders for anonymous and signed-in shoppers, with reasons and attributed links."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import TenantDomainFactory

from .conftest import Shop, sign_in

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<li class="card">(.*?)</li>\s*(?=<li class="card">|</ul>)', re.S)


def page_paths(shop: Shop) -> list[str]:
    return [
        shop.home,
        shop.url(f"c/{shop.kitchen.pk}/"),
        shop.product_url("Copper Kettle"),
        shop.url("search/?q=kettle"),
        shop.url("search/"),
        shop.url("cart/"),
        shop.url("privacy/"),
        shop.url("account/sign-in/"),
        shop.url("account/sign-up/"),
    ]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_every_page_renders(client: Client, shop: Shop, other_shop: Shop, signed_in: bool) -> None:
    if signed_in:
        assert sign_in(client, shop).status_code == 302
    for path in page_paths(shop):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert "Alpha Home" in page, path
        assert ("Hi, Ana" in page) is signed_in, path
        assert "Beta Bicycle" not in page and "Beta Teapot" not in page, path
        assert '<main id="main"' in page and 'role="search"' in page, path


def test_checkout_and_order_pages_render(client: Client, shop: Shop) -> None:
    client.post(shop.url("cart/add/"), {"product": shop.products["Leaf Rake"].pk, "quantity": 1})
    anonymous = client.get(shop.url("checkout/")).content.decode()
    assert "Sign in to place your order" in anonymous and "Leaf Rake" in anonymous
    sign_in(client, shop)
    signed_in = client.get(shop.url("checkout/")).content.decode()
    assert "Place order" in signed_in
    order_url = client.post(shop.url("checkout/"))["Location"]
    order_page = client.get(order_url).content.decode()
    assert "Thank you for your order" in order_page and "Leaf Rake" in order_page


def test_home_shows_recommendation_sections_with_a_reason_on_every_item(client: Client, shop: Shop) -> None:
    page = client.get(shop.home).content.decode()
    assert "Recommended for you" in page and "Trending now" in page
    cards = CARD.findall(page)
    assert len(cards) >= 4
    for card in cards:
        assert 'class="why"' in card and "Why this?" in card


def test_home_lists_the_most_ordered_product_first_when_no_model_is_trained(client: Client, shop: Shop) -> None:
    page = client.get(shop.home).content.decode()
    for_you = page.split('id="for-you"', 1)[1].split("</section>", 1)[0]
    names = re.findall(r'<span class="card-name">(.*?)</span>', for_you)
    assert names[:3] == ["Blue Mug", "Copper Kettle", "Steel Kettle"]


def test_recommended_links_carry_the_recommendation_id(client: Client, shop: Shop) -> None:
    page = client.get(shop.home).content.decode()
    section_ids = re.findall(r'data-recommendation-id="([^"]+)"', page)
    links = re.findall(r'href="/s/alpha/p/\d+/\?rid=([^"]+)"', page)
    assert section_ids and links
    assert set(links) <= set(section_ids)


def test_category_page_lists_its_subtree_and_nothing_else(client: Client, shop: Shop) -> None:
    page = client.get(shop.url(f"c/{shop.kitchen.pk}/")).content.decode()
    listing = page.split('id="category-products"', 1)[1]
    for name in ("Blue Mug", "Copper Kettle", "Steel Kettle", "Glass Kettle"):
        assert name in listing
    for name in ("Garden Hose", "Leaf Rake", "Red Mug"):
        assert name not in listing
    assert f'href="/s/alpha/c/{shop.kettles.pk}/"' in page  # sub-category link


def test_product_page_shows_similar_items(client: Client, shop: Shop) -> None:
    page = client.get(shop.product_url("Copper Kettle")).content.decode()
    similar = page.split('id="similar"', 1)[1].split("</section>", 1)[0]
    assert "Steel Kettle" in similar and "Glass Kettle" in similar
    assert "Garden Hose" not in similar
    assert "Similar to Copper Kettle" in similar


def test_mapped_domain_serves_the_same_pages_at_the_root(client: Client, shop: Shop, settings) -> None:
    settings.ALLOWED_HOSTS = ["shop.alpha.example", "testserver"]
    TenantDomainFactory(tenant=shop.tenant, domain="shop.alpha.example", verified_at=timezone.now())
    home = client.get("/", HTTP_HOST="shop.alpha.example")
    assert home.status_code == 200
    page = home.content.decode()
    assert "Blue Mug" in page and "/s/alpha/" not in page
    product_link = re.search(r'href="(/p/\d+/\?rid=[^"]+)"', page)
    assert product_link is not None
    product = client.get(product_link.group(1).replace("&amp;", "&"), HTTP_HOST="shop.alpha.example")
    assert product.status_code == 200 and "Add to cart" in product.content.decode()


@pytest.mark.django_db
def test_an_unknown_store_gets_a_proper_page_and_every_page_has_an_icon(client: Client) -> None:
    response = client.get("/s/no-such-shop/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>No such store</h1>" in page and "/s/no-such-shop/" in page
    icon = re.search(r'<link rel="icon" href="([^"]+)"', page)
    assert icon is not None
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 301 and favicon["Location"] == icon.group(1)
