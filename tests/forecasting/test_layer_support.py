"""Shared pieces of the forecasting layer tests (no tests here): a URL configuration that mounts the forecasting
API and staff pages as the project will, and small stores with planted demand.

The URL configuration is the project's, with `path("", include("forecasting.api_urls"))` added to the API's v1
patterns and `path("staff/", include("forecasting.staff_urls"))` to the site — the two lines the project's URL
modules get. Tests select it with `settings.ROOT_URLCONF = URLCONF`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.urls import include, path, re_path

from retailsite import urls as site_urls
from retailsite.api import urls as api_urls
from retailsite.api.exceptions import not_found
from retailsite.commerce.models import Category, Order, OrderLine, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant

URLCONF = __name__

_v1 = [path("", include("forecasting.api_urls")), *api_urls.v1_patterns]
_api = [path("v1/", include((_v1, "v1"))), re_path(r"^.*$", not_found)]
urlpatterns = [
    path("api/", include((_api, "api"))),
    path("staff/", include("forecasting.staff_urls")),
    *[pattern for pattern in site_urls.urlpatterns if str(pattern.pattern) != "api/"],
]

PARIS = dt.timezone(dt.timedelta(hours=1))  # winter time in Paris (the planted weeks are in January-March)
UTC = dt.UTC


@dataclass
class PlantedStore:
    """Product ids by external id, category ids by path, and the units planted per product and week."""

    tenant: Tenant
    products: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    weekly_units: dict[str, list[int]] = field(default_factory=dict)
    first_monday: dt.date = dt.date(2024, 1, 1)

    @property
    def weeks(self) -> int:
        return max(len(units) for units in self.weekly_units.values())

    @property
    def today(self) -> dt.date:
        """A day after the planted history, so every planted week is complete."""
        return self.first_monday + dt.timedelta(weeks=self.weeks, days=3)

    def week_start(self, week: int) -> dt.date:
        return self.first_monday + dt.timedelta(weeks=week)


def planted_units(weeks: int) -> dict[str, list[int]]:
    """Weekly units per product external id (0 = no sale that week)."""
    return {
        "K1": [10 + (week % 4) for week in range(weeks)],  # Home > Kitchen, a regular seller
        "K2": [5 + 2 * (week % 2) for week in range(weeks)],  # Home > Kitchen
        "G1": [3] * weeks,  # Home > Garden, a constant 3 a week
        "T1": [7 if week % 3 == 0 else 0 for week in range(weeks)],  # Toys, every third week
        "N1": [0] * (weeks - 2) + [4, 6],  # Home > Kitchen, launched two weeks ago
        "X1": [2] * weeks,  # Toys, discontinued (inactive): counts for its category and the total only
        "Z1": [0] * weeks,  # Toys, active, never sold
    }


PRODUCT_CATEGORY = {"K1": "Home > Kitchen", "K2": "Home > Kitchen", "G1": "Home > Garden", "T1": "Toys",
                    "N1": "Home > Kitchen", "X1": "Toys", "Z1": "Toys"}


def build_planted_store(tenant: Tenant, *, weeks: int = 30) -> PlantedStore:
    """A store whose every order line is placed on a Wednesday at noon (UTC), one line per product and week."""
    store = PlantedStore(tenant=tenant, weekly_units=planted_units(weeks))
    with tenant_context(tenant):
        home = Category.objects.create(name="Home", path="Home")
        tree = {
            "Home": home,
            "Home > Kitchen": Category.objects.create(name="Kitchen", path="Home > Kitchen", parent=home),
            "Home > Garden": Category.objects.create(name="Garden", path="Home > Garden", parent=home),
            "Toys": Category.objects.create(name="Toys", path="Toys"),
        }
        store.categories = {path_: category.pk for path_, category in tree.items()}
        for external_id, category_path in PRODUCT_CATEGORY.items():
            product = Product.objects.create(external_id=external_id, name=f"Product {external_id}",
                                             category=tree[category_path], price=Decimal("10.00"),
                                             active=external_id != "X1")
            store.products[external_id] = product.pk
        orders, lines = [], []
        for external_id, units in store.weekly_units.items():
            for week, quantity in enumerate(units):
                if not quantity:
                    continue
                wednesday = store.week_start(week) + dt.timedelta(days=2)
                order = Order(tenant=tenant, external_id=f"O-{external_id}-{week}",
                              ordered_at=dt.datetime.combine(wednesday, dt.time(12), tzinfo=UTC))
                orders.append(order)
                lines.append((order, store.products[external_id], quantity))
        Order.objects.bulk_create(orders, batch_size=1000)
        OrderLine.objects.bulk_create(
            [OrderLine(tenant=tenant, order=order, product_id=product_id, quantity=quantity,
                       unit_price=Decimal("10.00"))
             for order, product_id, quantity in lines],
            batch_size=1000,
        )
    return store


def add_order(tenant: Tenant, store: PlantedStore, external_id: str, product: str, at: dt.datetime,
              quantity: int, unit_price: str = "10.00") -> None:
    with tenant_context(tenant):
        order = Order.objects.create(external_id=external_id, ordered_at=at)
        OrderLine.objects.create(order=order, product_id=store.products[product], quantity=quantity,
                                 unit_price=Decimal(unit_price))
