"""The home page of a shopper with a personal list after a view: "because you viewed" changes at once, the other
sections stay where they were (the page does not reshuffle under the shopper), and nothing shows twice. A purchase
still rebuilds the whole page, and a shopper whose "for you" comes from what they just viewed gets it anew."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.utils import timezone

from recommendations.training import recommender_train
from retailsite.commerce.models import Customer, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import CustomerFactory, OrderFactory, OrderLineFactory, TenantFactory
from tests.recommendations.test_layer import build_two_cluster_store

from .conftest import SHOPPER_PASSWORD
from .test_shopping import section

pytestmark = pytest.mark.django_db

PRODUCT_LINK = re.compile(r'href="/s/[^/]+/p/(\d+)/')
LASTING_SLUGS = ("for-you", "because-bought", "trending", "followed")


class TrainedStore:
    def __init__(self) -> None:
        self.tenant: Tenant = TenantFactory()
        _cats, self.products, _customers = build_two_cluster_store(
            self.tenant, customers_per_cluster=10, products_per_cluster=24
        )
        with tenant_context(self.tenant):
            # Ana buys Alpha products before training, so the model gives her a personal list.
            self.ana = self.shopper("ana", bought=self.products["Alpha"][:5])
            recommender_train(tenant=self.tenant)

    def shopper(self, name: str, *, bought: list[Product] | None = None) -> Customer:
        customer = CustomerFactory(
            tenant=self.tenant,
            external_id=name,
            email=f"{name}@example.com",
            name=name.title(),
            password=make_password(SHOPPER_PASSWORD),
        )
        for n, product in enumerate(bought or []):
            self.order(customer, product, days_ago=40 - n)
        return customer

    def order(self, customer: Customer, product: Product, *, days_ago: float = 0) -> None:
        order = OrderFactory(
            tenant=self.tenant,
            customer=customer,
            external_id=f"{customer.external_id}-{product.pk}-{days_ago}",
            ordered_at=timezone.now() - dt.timedelta(days=days_ago),
        )
        OrderLineFactory(tenant=self.tenant, order=order, product=product, quantity=1)

    def signed_in(self, email: str) -> Client:
        client = Client()
        response = client.post(
            f"/s/{self.tenant.slug}/account/sign-in/", {"email": email, "password": SHOPPER_PASSWORD}
        )
        assert response.status_code == 302, response.content.decode()[:300]
        return client

    def home(self, client: Client) -> str:
        response = client.get(f"/s/{self.tenant.slug}/")
        assert response.status_code == 200
        return response.content.decode()

    def view(self, client: Client, product: Product) -> None:
        # Recorded at once here: the test settings' eager Celery buffers nothing.
        assert client.get(f"/s/{self.tenant.slug}/p/{product.pk}/").status_code == 200


@pytest.fixture
def store() -> TrainedStore:
    return TrainedStore()


def shown_ids(html: str) -> list[int]:
    return [int(pid) for pid in PRODUCT_LINK.findall(html)]


def test_a_view_changes_because_you_viewed_and_leaves_the_other_sections_where_they_were(store: TrainedStore) -> None:
    client = store.signed_in("ana@example.com")
    before = store.home(client)
    assert section(before, "for-you") and not section(before, "because-viewed")
    beta = store.products["Beta"][3]

    store.view(client, beta)
    after = store.home(client)

    viewed = section(after, "because-viewed")
    assert f"Because you viewed {beta.name}" in viewed
    beta_ids = {product.pk for product in store.products["Beta"]}
    assert shown_ids(viewed) and set(shown_ids(viewed)) <= beta_ids - {beta.pk}
    # The sections a view does not change are the very same, links and all (their recommendation ids included).
    for slug in LASTING_SLUGS:
        assert section(after, slug) == section(before, slug)
    # "Because you viewed" leaves out what the other sections show.
    others = {pid for slug in LASTING_SLUGS for pid in shown_ids(section(after, slug))}
    assert not set(shown_ids(viewed)) & others

    store.view(client, store.products["Alpha"][20])
    latest = store.home(client)
    assert f"Because you viewed {store.products['Alpha'][20].name}" in section(latest, "because-viewed")
    assert section(latest, "for-you") == section(before, "for-you")


def test_a_purchase_after_a_view_rebuilds_the_whole_page(store: TrainedStore) -> None:
    client = store.signed_in("ana@example.com")
    store.view(client, store.products["Beta"][3])
    assert "Because you bought" in store.home(client)
    latest_before = store.products["Alpha"][4]
    assert f"Because you bought {latest_before.name}" in store.home(client)

    bought = store.products["Beta"][7]
    with tenant_context(store.tenant):
        store.order(store.ana, bought)
    store.view(client, store.products["Beta"][3])

    page = store.home(client)
    assert f"Because you bought {bought.name}" in section(page, "because-bought")
    # What she just bought is left out of every list, the kept ones of before included.
    assert bought.pk not in shown_ids(page)


def test_for_you_made_from_recent_views_changes_with_a_view(store: TrainedStore) -> None:
    with tenant_context(store.tenant):
        store.shopper("bea")  # no purchases, so no personal list: "for you" comes from what she views
    client = store.signed_in("bea@example.com")
    store.view(client, store.products["Alpha"][2])
    first = set(shown_ids(section(store.home(client), "for-you")))
    alpha_ids = {product.pk for product in store.products["Alpha"]}
    assert first and first <= alpha_ids

    store.view(client, store.products["Beta"][2])
    store.view(client, store.products["Beta"][5])
    again = set(shown_ids(section(store.home(client), "for-you")))
    beta_ids = {product.pk for product in store.products["Beta"]}
    assert again & beta_ids, "for you still shows only what the first view brought"
