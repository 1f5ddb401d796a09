"""The privacy centre: consent switches personalization and event recording off; export and erasure links."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.test import Client

from retailsite.commerce.models import Customer
from retailsite.privacy import services as privacy_services
from retailsite.tenancy.context import tenant_context

from .conftest import Shop

pytestmark = pytest.mark.django_db

OFF = "Personalization is off"


def browse_and_buy(client: Client, shop: Shop) -> None:
    client.get(shop.product_url("Garden Hose"))
    client.get(shop.product_url("Leaf Rake") + "?rid=v0-0123456789abcdef")
    client.post(shop.url("cart/add/"), {"product": shop.products["Leaf Rake"].pk, "quantity": 1})


def test_a_signed_in_shopper_turns_personalization_off(signed_in_client: Client, shop: Shop) -> None:
    response = signed_in_client.post(shop.url("privacy/"), {"marketing": "on"})
    assert response.status_code == 302
    with tenant_context(shop.tenant):
        customer = Customer.objects.get(pk=shop.shopper.pk)
    assert not customer.personalization_consent and customer.marketing_consent

    browse_and_buy(signed_in_client, shop)
    assert signed_in_client.post(shop.url("checkout/")).status_code == 302

    assert shop.events() == []  # no view, cart or purchase event for an opted-out shopper
    home = signed_in_client.get(shop.home).content.decode()
    assert "Because you viewed" not in home
    assert home.count(f'<p class="note">{OFF}') == 2  # both recommendation sections say so
    for path in (shop.url(f"c/{shop.garden.pk}/"), shop.url("search/?q=mug")):
        assert f'<p class="note">{OFF}' in signed_in_client.get(path).content.decode(), path
    assert 'data-personalization="off"' in signed_in_client.get(shop.url("privacy/")).content.decode()
    product_page = signed_in_client.get(shop.product_url("Copper Kettle")).content.decode()
    assert "Personalization is off — based on this product only" in product_page


def test_turning_it_back_on_records_again(signed_in_client: Client, shop: Shop) -> None:
    signed_in_client.post(shop.url("privacy/"), {})
    signed_in_client.get(shop.product_url("Garden Hose"))
    assert shop.events() == []
    signed_in_client.post(shop.url("privacy/"), {"personalization": "on"})
    signed_in_client.get(shop.product_url("Garden Hose"))
    assert [e.event_type for e in shop.events()] == ["view"]
    assert "Because you viewed Garden Hose" in signed_in_client.get(shop.home).content.decode()


def test_an_anonymous_visitor_can_opt_out_for_this_store(client: Client, shop: Shop, other_shop: Shop) -> None:
    assert client.post(shop.url("privacy/"), {}).status_code == 302
    browse_and_buy(client, shop)
    assert shop.events() == []
    assert OFF in client.get(shop.home).content.decode()
    # The choice belongs to this store; the other store still personalizes.
    client.get(other_shop.product_url("Beta Teapot"))
    assert [e.event_type for e in other_shop.events()] == ["view"]


def test_privacy_centre_shows_the_choices_and_the_data_links(signed_in_client: Client, shop: Shop) -> None:
    signed_in_client.get(shop.product_url("Garden Hose"))
    page = signed_in_client.get(shop.url("privacy/")).content.decode()
    assert 'data-personalization="on"' in page
    assert f'href="{shop.url("privacy/export/")}"' in page and "Download my data" in page
    assert f'href="{shop.url("privacy/erase/")}"' in page and "Delete my account" in page
    assert "We hold 1 record" in page


def test_export_and_erase_say_coming_soon_until_the_privacy_app_provides_them(
    signed_in_client: Client, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(privacy_services, "customer_export_zip", raising=False)
    monkeypatch.delattr(privacy_services, "customer_erase", raising=False)
    for path in ("privacy/export/", "privacy/erase/"):
        response = signed_in_client.get(shop.url(path))
        assert response.status_code == 200 and "coming soon" in response.content.decode()
    assert signed_in_client.post(shop.url("privacy/erase/")).status_code == 200
    with tenant_context(shop.tenant):
        assert Customer.objects.filter(pk=shop.shopper.pk).exists()


def test_export_downloads_the_zip_the_privacy_app_builds(
    signed_in_client: Client, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_export(customer: Customer) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("customer.json", f'{{"customer_id": "{customer.external_id}"}}')
        return buffer.getvalue()

    monkeypatch.setattr(privacy_services, "customer_export_zip", fake_export, raising=False)
    response = signed_in_client.get(shop.url("privacy/export/"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert shop.shopper.external_id in archive.read("customer.json").decode()


def test_erase_asks_first_then_erases_and_signs_out(
    signed_in_client: Client, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    erased: list[int] = []
    monkeypatch.setattr(privacy_services, "customer_erase", lambda customer: erased.append(customer.pk), raising=False)
    confirm = signed_in_client.get(shop.url("privacy/erase/")).content.decode()
    assert "Yes, delete my account" in confirm and erased == []
    response = signed_in_client.post(shop.url("privacy/erase/"))
    assert response.status_code == 302 and erased == [shop.shopper.pk]
    assert "Hi, Ana" not in signed_in_client.get(shop.home).content.decode()


def test_export_and_erase_need_a_signed_in_shopper(client: Client, shop: Shop) -> None:
    for path in ("privacy/export/", "privacy/erase/"):
        response = client.get(shop.url(path))
        assert response.status_code == 302 and "account/sign-in/" in response["Location"]
