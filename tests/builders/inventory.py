"""Builders for the inventory layer tests: stores, stocked products and forecast runs.

Forecasts are written directly as ForecastRun / SeriesForecast rows (the forecasting layer is not exercised), with
weekly periods starting this week so that the plan uses every period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.utils import timezone

from forecasting.models import ForecastRun, RunStatus
from inventory.models import StockItem, Supplier
from retailsite.commerce.models import Product
from retailsite.tenancy.context import tenant_context
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.services import tenant_settings_set
from tests.factories import ForecastRunFactory, ProductFactory, SeriesForecastFactory, StockItemFactory, TenantFactory

HORIZON = 12


def make_store(slug: str = "alpha", **settings: Any) -> Tenant:
    tenant = TenantFactory(slug=slug, name=slug.title(), timezone="UTC")
    if settings:
        tenant_settings_set(tenant=tenant, assignments=[f"{key}={value}" for key, value in settings.items()])
        tenant.refresh_from_db()
    return tenant


def stocked_product(
    tenant: Tenant,
    external_id: str,
    *,
    price: str = "10.00",
    cost: str | None = "4.00",
    supplier: str | None = None,
    **stock: Any,
) -> tuple[Product, StockItem]:
    """A product and its stock row; `stock` sets StockItem fields (on_hand, lead_time_days, ...)."""
    product = ProductFactory(
        tenant=tenant,
        external_id=external_id,
        name=f"Product {external_id}",
        price=Decimal(price),
        cost=None if cost is None else Decimal(cost),
    )
    with tenant_context(tenant):
        supplier_row = Supplier.objects.get_or_create(name=supplier)[0] if supplier else None
        item = StockItemFactory(tenant=tenant, product=product, supplier=supplier_row, **stock)
    return product, item


def this_week(today: dt.date | None = None) -> dt.date:
    today = today or timezone.now().date()
    return today - dt.timedelta(days=today.weekday())


def forecast_run(
    tenant: Tenant,
    series: dict[Product, tuple[Sequence[float] | float, ...]],
    *,
    horizon: int = HORIZON,
    status: str = RunStatus.SUCCEEDED,
    frequency: str = "W",
    history: dict[Product, list[float]] | None = None,
) -> ForecastRun:
    """A forecast run with one product series per entry: (p10, p50, p90), each a list per period or a constant."""
    start = this_week()
    periods = [(start + dt.timedelta(weeks=i)).isoformat() for i in range(horizon)]

    def as_list(values: Sequence[float] | float) -> list[float]:
        return [float(values)] * horizon if isinstance(values, int | float) else [float(v) for v in values]

    with tenant_context(tenant):
        run = ForecastRunFactory(tenant=tenant, status=status, frequency=frequency, horizon=horizon)
        for product, (p10, p50, p90) in series.items():
            actuals = (history or {}).get(product)
            SeriesForecastFactory(
                run=run,
                product=product,
                periods=periods,
                p10=as_list(p10),
                p50=as_list(p50),
                p90=as_list(p90),
                history={"periods": [], "values": actuals} if actuals is not None else {},
            )
    return run
