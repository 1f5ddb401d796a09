"""Read-side queries of the partner API: API keys, and the store's catalog, customers and orders.

Everything except `api_key_for_presented_key` runs in the current tenant's context (the
tenant-scoped managers fail closed without one); objects are found by their external id.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from retailsite.commerce.models import Customer, Order, OrderLine, Product
from retailsite.tenancy.context import platform_context

from .keys import key_matches, key_prefix
from .models import ApiKey

# Compared against when no row has the presented prefix, so a miss costs the same as a hit.
_DUMMY_HASH = "0" * 64


def api_key_for_presented_key(raw_key: str) -> ApiKey | None:
    """The live key matching `raw_key` (any store), with its tenant; None if unknown, revoked or the store is off.

    The key table is under row-level security and the store is not known yet, so the
    look-up by prefix is a deliberate platform-wide read.
    """
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    with platform_context():
        candidates = list(ApiKey.objects.select_related("tenant").filter(prefix=prefix))
    if not candidates:
        key_matches(raw_key, _DUMMY_HASH)
    found = next((candidate for candidate in candidates if key_matches(raw_key, candidate.secret_hash)), None)
    if found is None or found.revoked_at is not None or not found.tenant.is_active:
        return None
    return found


def api_key_prefix_in_use(prefix: str) -> bool:
    with platform_context():
        return ApiKey.objects.filter(prefix=prefix).exists()


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by").order_by("-created_at", "-pk")


def api_key_get(*, prefix_or_id: str) -> ApiKey | None:
    """A key of the current store by its public prefix (or the `rsk_<prefix>` start of it) or its numeric id."""
    text = prefix_or_id.strip().removeprefix("rsk_").split("_", 1)[0]
    query = Q(prefix=text)
    if text.isdigit() and len(text) < 19:
        query |= Q(pk=int(text))
    return ApiKey.objects.filter(query).first()


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


def product_get(*, product_id: str) -> Product | None:
    if not _storable(product_id):
        return None
    return Product.objects.select_related("category").filter(external_id=product_id).first()


def product_ids_existing(product_ids: Iterable[str]) -> dict[str, int]:
    """external id -> primary key for the ids that exist in the current store."""
    return dict(Product.objects.filter(external_id__in=set(product_ids)).values_list("external_id", "pk"))


def product_prices(product_ids: Iterable[str]) -> dict[str, Any]:
    return dict(Product.objects.filter(external_id__in=set(product_ids)).values_list("external_id", "price"))


# -- customers -------------------------------------------------------------------------------


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.order_by("pk")


def customer_get(*, customer_id: str) -> Customer | None:
    if not _storable(customer_id):
        return None
    return Customer.objects.filter(external_id=customer_id).first()


def customer_ids_existing(customer_ids: Iterable[str]) -> dict[str, int]:
    return dict(Customer.objects.filter(external_id__in=set(customer_ids)).values_list("external_id", "pk"))


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


def order_get(*, order_id: str) -> Order | None:
    if not _storable(order_id):
        return None
    return _orders_with_lines().filter(external_id=order_id).first()
