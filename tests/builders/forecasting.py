"""Builders for the forecasting layer tests: small stores with planted demand, and stored forecast runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from forecasting.models import (
    ForecastRun,
    RunStatus,
    SeriesForecast,
    SeriesLevel,
)
from retailsite.commerce.models import Category, Customer, Order, OrderLine, Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    CustomerModelRunFactory,
    CustomerPredictionFactory,
    ForecastRunFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SeriesForecastFactory,
)

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


PRODUCT_CATEGORY = {
    "K1": "Home > Kitchen",
    "K2": "Home > Kitchen",
    "G1": "Home > Garden",
    "T1": "Toys",
    "N1": "Home > Kitchen",
    "X1": "Toys",
    "Z1": "Toys",
}


def build_planted_store(tenant: Tenant, *, weeks: int = 30) -> PlantedStore:
    """A store whose every order line is placed on a Wednesday at noon (UTC), one line per product and week."""
    store = PlantedStore(tenant=tenant, weekly_units=planted_units(weeks))
    home = CategoryFactory(tenant=tenant, name="Home", path="Home")
    tree = {
        "Home": home,
        "Home > Kitchen": CategoryFactory(tenant=tenant, name="Kitchen", path="Home > Kitchen", parent=home),
        "Home > Garden": CategoryFactory(tenant=tenant, name="Garden", path="Home > Garden", parent=home),
        "Toys": CategoryFactory(tenant=tenant, name="Toys", path="Toys"),
    }
    store.categories = {path_: category.pk for path_, category in tree.items()}
    with tenant_context(tenant):
        for external_id, category_path in PRODUCT_CATEGORY.items():
            product = ProductFactory(
                tenant=tenant,
                external_id=external_id,
                name=f"Product {external_id}",
                category=tree[category_path],
                price=Decimal("10.00"),
                active=external_id != "X1",
            )
            store.products[external_id] = product.pk
        orders, lines = [], []
        for external_id, units in store.weekly_units.items():
            for week, quantity in enumerate(units):
                if not quantity:
                    continue
                wednesday = store.week_start(week) + dt.timedelta(days=2)
                order = Order(
                    tenant=tenant,
                    external_id=f"O-{external_id}-{week}",
                    ordered_at=dt.datetime.combine(wednesday, dt.time(12), tzinfo=UTC),
                )
                orders.append(order)
                lines.append((order, store.products[external_id], quantity))
        Order.objects.bulk_create(orders, batch_size=1000)
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    tenant=tenant, order=order, product_id=product_id, quantity=quantity, unit_price=Decimal("10.00")
                )
                for order, product_id, quantity in lines
            ],
            batch_size=1000,
        )
    return store


def add_order(
    tenant: Tenant,
    store: PlantedStore,
    external_id: str,
    product: str,
    at: dt.datetime,
    quantity: int,
    unit_price: str = "10.00",
) -> None:
    with tenant_context(tenant):
        bought = Product.objects.get(pk=store.products[product])
    order = OrderFactory(tenant=tenant, external_id=external_id, customer=None, ordered_at=at)
    OrderLineFactory(tenant=tenant, order=order, product=bought, quantity=quantity, unit_price=Decimal(unit_price))


# ---------------------------------------------------------------------------------------------------- stored runs

PERIODS = ["2025-03-03", "2025-03-10"]


def _row(
    run: ForecastRun,
    level: str,
    p50: list[float],
    *,
    product: Product | None = None,
    category: Category | None = None,
    elasticity: float | None = None,
) -> SeriesForecast:
    return SeriesForecastFactory(
        run=run,
        level=level,
        product=product,
        category=category,
        method="weighted(ets+theta)",
        route="regular",
        demand_class="smooth",
        periods=PERIODS,
        p10=[v * 0.5 for v in p50],
        p50=p50,
        p90=[v * 1.5 for v in p50],
        baseline_p50=[v + 1 for v in p50],
        history={"start": "2025-02-24", "values": [1.0]},
        backtest={
            "mase": 0.8,
            "wape": 0.2,
            "rmse": 3.0,
            "pinball": 1.1,
            "coverage": 0.8,
            "n_windows": 12,
            "baseline": {"mase": 1.0, "wape": 0.3, "rmse": 4.0, "pinball": 1.5, "coverage": None, "n_windows": 12},
        },
        horizon_total=sum(p50),
        elasticity=elasticity,
    )


def stored_forecasts(tenant: Tenant, scale: float = 1.0) -> dict[str, object]:
    """Home > Kitchen (P1) and Home > Garden (P2); an older run and a newer failed run that must not serve."""
    home = CategoryFactory(tenant=tenant, name="Home", path="Home")
    kitchen = CategoryFactory(tenant=tenant, name="Kitchen", path="Home > Kitchen", parent=home)
    garden = CategoryFactory(tenant=tenant, name="Garden", path="Home > Garden", parent=home)
    p1 = ProductFactory(tenant=tenant, external_id="P1", category=kitchen)
    p2 = ProductFactory(tenant=tenant, external_id="P2", category=garden)
    with tenant_context(tenant):
        old = ForecastRunFactory(tenant=tenant)
        _row(old, SeriesLevel.PRODUCT, [999.0, 999.0], product=p1, category=kitchen)
        serving = ForecastRunFactory(tenant=tenant)
        _row(serving, SeriesLevel.PRODUCT, [10.0 * scale, 12.0 * scale], product=p1, category=kitchen, elasticity=-2.0)
        _row(serving, SeriesLevel.PRODUCT, [4.0 * scale, 4.0 * scale], product=p2, category=garden)
        for category, p50 in ((home, [14.0, 16.0]), (kitchen, [10.0, 12.0]), (garden, [4.0, 4.0])):
            _row(serving, SeriesLevel.CATEGORY, p50, category=category)
        _row(serving, SeriesLevel.TOTAL, [14.0, 16.0])
        ForecastRunFactory(tenant=tenant, status=RunStatus.FAILED, finished_at=None)
    return {"run": serving, "home": home, "kitchen": kitchen, "garden": garden}


def stored_insights(tenant: Tenant) -> dict[str, Customer]:
    scored = CustomerFactory(tenant=tenant, external_id="C1")
    opted_out = CustomerFactory(tenant=tenant, external_id="C2")
    newcomer = CustomerFactory(tenant=tenant, external_id="C3")
    with tenant_context(tenant):
        old = CustomerModelRunFactory(tenant=tenant)
        CustomerPredictionFactory(
            run=old, customer=scored, expected_spend=1.0, churn_probability=0.99, segment="Hibernating"
        )
        run = CustomerModelRunFactory(
            tenant=tenant,
            figures={"segment_descriptions": {"Loyal": "bought in the last 90 days and 2+ orders in the last year"}},
        )
        for customer in (scored, opted_out):
            CustomerPredictionFactory(
                run=run,
                customer=customer,
                expected_spend=120.5,
                churn_probability=0.125,
                next_category="Kitchen",
                next_category_probability=0.4,
                segment="Loyal",
            )
        CustomerModelRunFactory(tenant=tenant, status=RunStatus.FAILED)
        Customer.objects.filter(pk=opted_out.pk).update(personalization_consent=False)
    return {"scored": scored, "opted_out": opted_out, "newcomer": newcomer, "run": run}
