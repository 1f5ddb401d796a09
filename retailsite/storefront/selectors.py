"""Read-side queries of the storefront: categories, catalog search, and the shopper's recent history.

All of them run as the current store (tenant-scoped managers; row-level security on PostgreSQL).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Field, Q

from retailsite.commerce.catalog_snapshot import catalog_snapshot
from retailsite.commerce.models import Customer, Event, Order, Product
from retailsite.commerce.search import product_search as catalog_search
from retailsite.sql import fetchone_prepared
from retailsite.tenancy.context import require_tenant_id


@dataclass(frozen=True)
class NavCategory:
    pk: int
    name: str


def top_categories(*, limit: int = 12) -> list[NavCategory]:
    """The roots of the category tree, for navigation (from the serving catalog snapshot: every page shows them)."""
    return [NavCategory(pk, name) for pk, name in catalog_snapshot().top_categories(limit)]


def product_get_active(*, product_id: int) -> Product | None:
    return Product.objects.filter(pk=product_id, active=True).first()


def product_search(*, text: str, limit: int = 100, language: str | None = None) -> list[tuple[int, float]]:
    """Active products matching the text, best first, as (product id, text rank) — see commerce.search.

    `language`: the store's `search_language` when the caller has the store at hand (else it is looked up).
    """
    return catalog_search(text=text, limit=limit, language=language)


def purchased_product_ids_latest_first(*, customer_id: int) -> list[int]:
    """Every product the customer bought, the most recent purchase first (distinct)."""
    tenant_id = require_tenant_id()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.product_id FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id"
            " WHERE l.tenant_id = %s AND o.tenant_id = %s AND o.customer_id = %s"
            " ORDER BY o.ordered_at DESC, l.id DESC",
            [tenant_id, tenant_id, customer_id],
        )
        return list(dict.fromkeys(row[0] for row in cursor.fetchall()))


# The stamp's first ACTIVITY_EVENT_PARTS parts are the shopper's latest events (as customer, as visitor); the rest
# changes only with orders and follows (`split_activity_stamp`).
ACTIVITY_EVENT_PARTS = 2


def _activity_sql(customer_id: int | None, visitor_id: str) -> tuple[str, list]:
    tenant_id = require_tenant_id()
    parts: list[tuple[str, list[Any]]] = [
        ("SELECT max(id) FROM commerce_event WHERE tenant_id = %s AND customer_id = %s", [tenant_id, customer_id]),
        ("SELECT max(id) FROM commerce_event WHERE tenant_id = %s AND session_id = %s", [tenant_id, visitor_id]),
        ("SELECT max(id) FROM commerce_order WHERE tenant_id = %s AND customer_id = %s", [tenant_id, customer_id]),
        ("SELECT count(*) FROM commerce_follow WHERE tenant_id = %s AND follower_id = %s", [tenant_id, customer_id]),
        ("SELECT max(id) FROM commerce_follow WHERE tenant_id = %s AND follower_id = %s", [tenant_id, customer_id]),
        # "Popular with people you follow" changes when one of them orders.
        (
            "SELECT max(o.id) FROM commerce_order o WHERE o.tenant_id = %s AND o.customer_id IN"
            " (SELECT f.followee_id FROM commerce_follow f WHERE f.tenant_id = %s AND f.follower_id = %s)",
            [tenant_id, tenant_id, customer_id],
        ),
    ]
    sql = " || ':' || ".join(f"COALESCE(CAST(({part}) AS TEXT), '')" for part, _ in parts)
    return sql, [param for _, params in parts for param in params]


def shopper_activity_stamp(*, customer_id: int | None, visitor_id: str) -> str:
    """A value that changes whenever the shopper's personal sections may change: a new event of theirs
    (from the storefront or the API), a new order, a follow added or removed, a new order by someone they
    follow. Small indexed look-ups."""
    sql, params = _activity_sql(customer_id, visitor_id)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return str(cursor.fetchone()[0])


def split_activity_stamp(stamp: str) -> tuple[str, str]:
    """(the part a new event changes, the part only orders and follows change) of a `shopper_activity_stamp`."""
    parts = stamp.split(":")
    return ":".join(parts[:ACTIVITY_EVENT_PARTS]), ":".join(parts[ACTIVITY_EVENT_PARTS:])


# What a home page uses of the customer; the other fields (contact details, decrypted only when read)
# are deferred and load on access like any deferred field.
HOME_CUSTOMER_FIELDS = frozenset({"id", "tenant_id", "external_id", "name", "personalization_consent"})


@functools.cache
def _home_customer_fields() -> tuple[Field, ...]:
    return tuple(field for field in Customer._meta.concrete_fields if field.attname in HOME_CUSTOMER_FIELDS)


def customer_with_activity(*, customer_id: int, visitor_id: str) -> Customer | None:
    """The customer, with `shopper_activity_stamp` as `.activity` — one round trip for both, prepared
    (see `fetchone_prepared`): every home page visit of a signed-in shopper runs it."""
    fields = _home_customer_fields()
    activity_sql, params = _activity_sql(customer_id, visitor_id)
    columns = ", ".join(f'c."{field.column}"' for field in fields)
    row = fetchone_prepared(
        f"SELECT {columns}, {activity_sql} FROM commerce_customer c WHERE c.tenant_id = %s AND c.id = %s",
        [*params, require_tenant_id(), customer_id],
    )
    if row is None:
        return None
    # What the ORM's compiler does with a row: each field's database converter, then the model.
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=False)
    ]
    customer = Customer.from_db(connection.alias, [field.attname for field in fields], values)
    customer.activity = row[-1]  # type: ignore[attr-defined]
    return customer


def customer_order_get(*, customer: Customer, order_external_id: str) -> Order | None:
    """One of the customer's own orders, with its lines; None for anyone else's."""
    return (
        Order.objects.filter(customer=customer, external_id=order_external_id)
        .prefetch_related("lines__product")
        .first()
    )


def shopper_event_count(*, customer_id: int | None, visitor_id: str) -> int:
    """How many behavioural events are held for the shopper (shown in the privacy centre)."""
    who = Q(session_id=visitor_id) if visitor_id else Q(pk__in=[])
    if customer_id is not None:
        who |= Q(customer_id=customer_id)
    return Event.objects.filter(who).count()
