"""Fixtures for the storefront: two small stores with a catalog, orders and a shopper who can sign in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from retailsite.commerce.models import Category, Customer, Event, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    TenantFactory,
)

SHOPPER_PASSWORD = "a long shopper passphrase 42"


@dataclass
class Shop:
    tenant: Tenant
    kitchen: Category
    kettles: Category
    garden: Category
    products: dict[str, Product]
    shopper: Customer
    shopper_email: str

    @property
    def home(self) -> str:
        return f"/s/{self.tenant.slug}/"

    def url(self, path: str) -> str:
        return f"/s/{self.tenant.slug}/{path}"

    def product_url(self, name: str) -> str:
        return self.url(f"p/{self.products[name].pk}/")

    def events(self) -> list[Event]:
        with tenant_context(self.tenant):
            return list(Event.objects.order_by("pk"))


def build_shop(slug: str, name: str, product_names: dict[str, tuple[str, str]]) -> Shop:
    """A store with Kitchen > Kettles, Garden, the given products {name: (category key, description)} and
    some orders so popularity is not flat."""
    tenant = TenantFactory(slug=slug, name=name, currency="EUR")
    kitchen = CategoryFactory(tenant=tenant, name="Kitchen", path="Kitchen")
    kettles = CategoryFactory(tenant=tenant, name="Kettles", path="Kitchen > Kettles", parent=kitchen)
    garden = CategoryFactory(tenant=tenant, name="Garden", path="Garden")
    categories = {"kitchen": kitchen, "kettles": kettles, "garden": garden}
    products = {
        product_name: ProductFactory(
            tenant=tenant,
            name=product_name,
            category=categories[category],
            description=description,
            brand=f"{name} Works",
            price=Decimal("12.50"),
        )
        for product_name, (category, description) in product_names.items()
    }
    email = f"ana@{slug}.example"
    shopper = CustomerFactory(
        tenant=tenant, external_id=f"{slug}-ana", email=email, name="Ana", password=make_password(SHOPPER_PASSWORD)
    )
    buyer = CustomerFactory(tenant=tenant, external_id=f"{slug}-bob", name="Bob")
    # Popularity: the first products were ordered most.
    for rank, product in enumerate(products.values()):
        for _ in range(max(0, 3 - rank)):
            OrderLineFactory(
                tenant=tenant,
                order=OrderFactory(tenant=tenant, customer=buyer),
                product=product,
                unit_price=product.price,
            )
    return Shop(tenant, kitchen, kettles, garden, products, shopper, email)


ALPHA_CATALOG = {
    "Blue Mug": ("kitchen", "A sturdy stoneware mug for tea."),
    "Copper Kettle": ("kettles", "A whistling stovetop kettle in polished copper."),
    "Steel Kettle": ("kettles", "A brushed steel kettle that boils fast."),
    "Glass Kettle": ("kettles", "See the water boil in this borosilicate kettle."),
    "Garden Hose": ("garden", "A flexible hose for watering the lawn."),
    "Leaf Rake": ("garden", "Wide rake for autumn leaves."),
    "Red Mug": ("garden", "A stoneware mug for tea, for drinking in the garden."),
}
BETA_CATALOG = {
    "Beta Bicycle": ("garden", "A city bicycle with a basket."),
    "Beta Teapot": ("kitchen", "A cast-iron teapot."),
}


@pytest.fixture
def shop(db) -> Shop:
    return build_shop("alpha", "Alpha Home", ALPHA_CATALOG)


@pytest.fixture
def other_shop(db) -> Shop:
    return build_shop("beta", "Beta Outdoors", BETA_CATALOG)


def sign_in(client: Client, shop: Shop, *, email: str | None = None, password: str = SHOPPER_PASSWORD):
    return client.post(shop.url("account/sign-in/"), {"email": email or shop.shopper_email, "password": password})


@pytest.fixture
def signed_in_client(client: Client, shop: Shop) -> Client:
    response = sign_in(client, shop)
    assert response.status_code == 302, response.content.decode()[:500]
    return client
