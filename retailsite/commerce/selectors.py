"""Read-side queries over commerce data: products, customers and orders of the current store.

Every caller (API, storefront, staff pages, other apps) reads these entities here. Partners, imports and
URLs name objects by their external id (`*_get_by_external_id`); staff pages link by database id
(`product_get_by_pk`). Always within the current tenant (the managers fail closed without one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet

from retailsite.encryption.crypto import blind_index

from .models import Customer, Order, OrderLine, Product


def product_list_popular(*, limit: int = 24) -> QuerySet[Product]:
    """Active products by number of order lines (a fallback list before any model is trained)."""
    return (
        Product.objects.filter(active=True)
        .select_related("category")
        .annotate(order_count=Count("order_lines"))
        .order_by("-order_count", "name")[:limit]
    )


# -- catalog ---------------------------------------------------------------------------------


def product_list(*, active: bool | None = None, category: str | None = None) -> QuerySet[Product]:
    """Products in a stable order; `category` matches a category path and everything below it."""
    products = Product.objects.select_related("category").order_by("pk")
    if active is not None:
        products = products.filter(active=active)
    if category:
        products = products.filter(Q(category__path=category) | Q(category__path__startswith=f"{category} > "))
    return products


def _storable(external_id: str) -> bool:
    """An id PostgreSQL can compare at all (text may not hold NUL): anything else exists nowhere."""
    return "\x00" not in external_id


def product_get_by_external_id(external_id: str) -> Product | None:
    """The product a partner, an import or a URL names by its id (with its category)."""
    if not _storable(external_id):
        return None
    return Product.objects.select_related("category").filter(external_id=external_id).first()


def product_get_by_pk(pk: int) -> Product | None:
    """The product behind a database id (staff pages link by it)."""
    return Product.objects.select_related("category").filter(pk=pk).first()


def product_pks_by_external_id(external_ids: Iterable[str]) -> dict[str, int]:
    """external id -> primary key for the ids that exist in the current store."""
    return dict(Product.objects.filter(external_id__in=set(external_ids)).values_list("external_id", "pk"))


def product_prices_by_external_id(external_ids: Iterable[str]) -> dict[str, Decimal]:
    return dict(Product.objects.filter(external_id__in=set(external_ids)).values_list("external_id", "price"))


# -- customers -------------------------------------------------------------------------------


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.order_by("pk")


def customer_get_by_external_id(external_id: str) -> Customer | None:
    if not _storable(external_id):
        return None
    return Customer.objects.filter(external_id=external_id).first()


def customer_get_by_email(email: str) -> Customer | None:
    """The current store's customer with this e-mail (looked up through its blind index)."""
    email_hash = blind_index(normalized_email(email))
    if not email_hash:
        return None
    return Customer.objects.filter(email_hash=email_hash).order_by("pk").first()


def normalized_email(email: str) -> str:
    return email.strip().lower()


def customer_pks_by_external_id(external_ids: Iterable[str]) -> dict[str, int]:
    return dict(Customer.objects.filter(external_id__in=set(external_ids)).values_list("external_id", "pk"))


# -- orders ----------------------------------------------------------------------------------


def _orders_with_lines() -> QuerySet[Order]:
    lines = OrderLine.objects.select_related("product").order_by("pk")
    return Order.objects.select_related("customer").prefetch_related(Prefetch("lines", queryset=lines))


def order_list(
    *, customer_id: str | None = None, ordered_after: datetime | None = None, ordered_before: datetime | None = None
) -> QuerySet[Order]:
    orders = _orders_with_lines().order_by("pk")
    if customer_id is not None:
        orders = orders.filter(customer__external_id=customer_id)
    if ordered_after is not None:
        orders = orders.filter(ordered_at__gte=ordered_after)
    if ordered_before is not None:
        orders = orders.filter(ordered_at__lt=ordered_before)
    return orders


def order_get_by_external_id(external_id: str) -> Order | None:
    """The order with its customer and lines."""
    if not _storable(external_id):
        return None
    return _orders_with_lines().filter(external_id=external_id).first()
