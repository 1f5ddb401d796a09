"""Storefront pages are set into a layout rendered once per store and kind of shopper (page_shell.py): every page
must come out exactly as Django renders its template whole, for every shopper, store and request value."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.template.loader import render_to_string
from django.test import Client

from retailsite.storefront import views
from retailsite.tenancy.context import tenant_context

from .conftest import Shop, sign_in

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Each storefront page rendered during the test: its template, context and request, and what was sent."""
    pages: list[dict[str, Any]] = []
    real = views.render_storefront_page

    def spy(request: Any, template_name: str, context: dict[str, Any]) -> str:
        html = real(request, template_name, context)
        pages.append({"request": request, "template": template_name, "context": context, "html": html})
        return html

    monkeypatch.setattr(views, "render_storefront_page", spy)
    return pages


def _rename(tenant: Any, named: Any, name: str) -> None:
    with tenant_context(tenant):
        named.name = name
        named.save()


def _same_as_whole_template(page: dict[str, Any]) -> None:
    whole = render_to_string(page["template"], page["context"], request=page["request"])
    # A CSRF token is masked anew on every render: the same secret, different text.
    assert _CSRF.sub("csrf", page["html"]) == _CSRF.sub("csrf", whole)


def test_pages_come_out_as_their_whole_templates_for_a_visitor(
    client: Client, shop: Shop, rendered: list[dict[str, Any]]
) -> None:
    kettle = shop.products["Copper Kettle"]
    paths = [
        shop.home,
        shop.product_url("Copper Kettle"),
        shop.url(f"c/{shop.kettles.pk}/"),
        shop.url("search/?" + urlencode({"q": 'kettle "copper" <b>&'})),
        shop.url("privacy/"),
        shop.url("cart/"),
        shop.url("account/sign-in/"),
    ]
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert client.get(shop.url("p/999999/")).status_code == 404
    assert [page["template"] for page in rendered][-1] == "storefront/problem.html"
    for page in rendered:
        _same_as_whole_template(page)
    search = next(page["html"] for page in rendered if page["template"] == "storefront/search.html")
    assert 'value="kettle &quot;copper&quot; &lt;b&gt;&amp;"' in search  # the search box keeps the text, escaped
    assert "<b>&" not in search
    assert str(kettle.name) in rendered[1]["html"]


def test_a_signed_in_shopper_with_a_cart_and_a_message_gets_the_whole_template(
    client: Client, shop: Shop, rendered: list[dict[str, Any]]
) -> None:
    _rename(shop.tenant, shop.shopper, 'Ana <i>"the tester"</i>')
    assert sign_in(client, shop).status_code == 302
    rake = shop.products["Leaf Rake"]
    client.post(shop.url("cart/add/"), {"product": rake.pk, "quantity": 1})
    one_item = client.get(shop.home).content.decode()  # with the flash message of the add
    client.post(shop.url("cart/add/"), {"product": rake.pk, "quantity": 1})
    client.get(shop.home)  # the second flash message
    two_items = client.get(shop.product_url("Leaf Rake")).content.decode()
    for page in rendered:
        _same_as_whole_template(page)
    assert "Added Leaf Rake to your cart." in one_item
    assert '<span class="badge">1</span><span class="visually-hidden"> item</span>' in one_item
    assert "Hi, Ana &lt;i&gt;&quot;the tester&quot;&lt;/i&gt;" in one_item
    assert 'action="/s/alpha/account/sign-out/"' in one_item
    assert "Added Leaf Rake" not in two_items  # a message is shown once
    assert '<span class="badge">2</span><span class="visually-hidden"> items</span>' in two_items
    # The sign-out form and the add-to-cart form each carry a token the CSRF check accepts.
    assert len(_CSRF.findall(two_items)) == 2
    token = _CSRF.findall(two_items)[0].split('value="')[1].rstrip('"')
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = strict.post(shop.url("account/sign-out/"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_each_store_gets_its_own_layout(
    client: Client, shop: Shop, other_shop: Shop, rendered: list[dict[str, Any]]
) -> None:
    alpha = client.get(shop.home).content.decode()
    beta = client.get(other_shop.home).content.decode()
    assert "<title>" in alpha and "· Alpha Home</title>" in alpha and "Beta Outdoors" not in alpha
    assert "· Beta Outdoors</title>" in beta and "Alpha Home" not in beta
    assert 'href="/s/beta/cart/"' in beta and "/s/alpha/" not in beta
    _rename(other_shop.tenant, other_shop.tenant, "Beta & Sons")
    renamed = client.get(other_shop.home).content.decode()
    assert "Beta &amp; Sons" in renamed and "Beta Outdoors" not in renamed  # a renamed store's layout is new
    for page in rendered:
        _same_as_whole_template(page)


def test_a_store_name_holding_a_marker_character_still_gets_its_pages(
    client: Client, shop: Shop, rendered: list[dict[str, Any]]
) -> None:
    _rename(shop.tenant, shop.tenant, "Odd \ue000title\ue001 Store")
    response = client.get(shop.product_url("Blue Mug"))
    assert response.status_code == 200
    assert "Odd \ue000title\ue001 Store" in response.content.decode()
    _same_as_whole_template(rendered[-1])
