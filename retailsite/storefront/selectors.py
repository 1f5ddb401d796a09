"""Read-side queries of the storefront: categories, catalog search, and the shopper's recent history.

All of them run as the current store (tenant-scoped managers; row-level security on PostgreSQL).
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from recommendations.serving import RECENT_EVENT_TYPES, RECENT_EVENTS_WINDOW
from retailsite.commerce.models import Category, Customer, Event, Follow, Order, OrderLine, Product

MAX_SEARCH_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"
# Substring matches found only by the fallback rank below any full-text hit, but not at zero.
SUBSTRING_MATCH_RANK = 0.01


def top_categories(*, limit: int = 12) -> list[Category]:
    """The roots of the category tree, for navigation."""
    return list(Category.objects.filter(parent__isnull=True).order_by("name")[:limit])


def category_get(*, category_id: int) -> Category | None:
    return Category.objects.select_related("parent").filter(pk=category_id).first()


def category_children(*, category: Category) -> list[Category]:
    return list(Category.objects.filter(parent=category).order_by("name"))


def category_ancestors(*, category: Category) -> list[Category]:
    """Root first, the category itself excluded (for breadcrumbs)."""
    names = category.path.split(" > ")
    paths = [" > ".join(names[:depth]) for depth in range(1, len(names))]
    by_path = {c.path: c for c in Category.objects.filter(path__in=paths)}
    return [by_path[path] for path in paths if path in by_path]


def category_product_ids(*, category: Category, limit: int = 1000) -> list[int]:
    """Active products of the category and its sub-categories, most ordered first (at most `limit`)."""
    in_subtree = Q(category=category) | Q(category__path__startswith=f"{category.path} > ")
    return list(
        Product.objects.filter(in_subtree, active=True)
        .annotate(order_count=Count("order_lines"))
        .order_by("-order_count", "name", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def product_get_active(*, product_id: int) -> Product | None:
    return Product.objects.select_related("category").filter(pk=product_id, active=True).first()


def product_search(*, text: str, limit: int = 100) -> list[tuple[int, float]]:
    """Active products matching the text, best first, as (product id, text rank).

    PostgreSQL: full-text search over name (weight A), brand and category path (B) and
    description (C), topped up with name substring matches so a partly typed word still finds
    something. Elsewhere (the SQLite demo): every word must appear in one of those fields.
    """
    text = " ".join(text.split())[:MAX_SEARCH_QUERY_LENGTH]
    if not text:
        return []
    if connection.vendor == "postgresql":
        return _search_postgres(text, limit)
    return _search_substring(text, limit)


def _search_postgres(text: str, limit: int) -> list[tuple[int, float]]:
    vector = (
        SearchVector("name", weight="A", config=SEARCH_CONFIG)
        + SearchVector("brand", weight="B", config=SEARCH_CONFIG)
        + SearchVector("category__path", weight="B", config=SEARCH_CONFIG)
        + SearchVector("description", weight="C", config=SEARCH_CONFIG)
    )
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    rows = list(
        Product.objects.filter(active=True)
        .annotate(document=vector, rank=SearchRank(vector, query))
        .filter(document=query)
        .order_by("-rank", "pk")
        .values_list("pk", "rank")[:limit]
    )
    found = [(pk, float(rank)) for pk, rank in rows]
    if len(found) < limit:
        seen = {pk for pk, _ in found}
        extra = (
            Product.objects.filter(active=True, name__icontains=text).exclude(pk__in=seen)
            .order_by("name", "pk").values_list("pk", flat=True)[: limit - len(found)]
        )
        found += [(pk, SUBSTRING_MATCH_RANK) for pk in extra]
    return found


def _search_substring(text: str, limit: int) -> list[tuple[int, float]]:
    words = text.split()[:8]
    queryset = Product.objects.filter(active=True)
    for word in words:
        queryset = queryset.filter(Q(name__icontains=word) | Q(brand__icontains=word)
                                   | Q(category__path__icontains=word) | Q(description__icontains=word))
    rows = queryset.values_list("pk", "name", "brand", "category__path")[: limit * 5]
    scored = []
    for pk, name, brand, path in rows:
        score = 0.0
        for word in (w.lower() for w in words):
            score += 3.0 if word in name.lower() else 0.0
            score += 2.0 if word in f"{brand} {path or ''}".lower() else 0.0
            score += 1.0
        scored.append((pk, score))
    scored.sort(key=lambda row: (-row[1], row[0]))
    return scored[:limit]


def recently_viewed_product(*, customer_id: int | None, visitor_id: str) -> Product | None:
    """The product the shopper looked at (or carted) most recently, within the window "because you viewed" uses."""
    if customer_id is None and not visitor_id:
        return None
    who = Q(session_id=visitor_id) if visitor_id else Q(pk__in=[])
    if customer_id is not None:
        who |= Q(customer_id=customer_id)
    product_id = (
        Event.objects.filter(who, event_type__in=RECENT_EVENT_TYPES,
                             occurred_at__gte=timezone.now() - RECENT_EVENTS_WINDOW)
        .order_by("-occurred_at", "-pk").values_list("product_id", flat=True).first()
    )
    return Product.objects.filter(pk=product_id).first() if product_id else None


def last_purchased_product(*, customer_id: int) -> Product | None:
    line = (
        OrderLine.objects.filter(order__customer_id=customer_id).select_related("product")
        .order_by("-order__ordered_at", "-pk").first()
    )
    return line.product if line is not None else None


def customer_follows_anyone(*, customer_id: int) -> bool:
    return Follow.objects.filter(follower_id=customer_id).exists()


def customer_order_get(*, customer: Customer, order_external_id: str) -> Order | None:
    """One of the customer's own orders, with its lines; None for anyone else's."""
    return (
        Order.objects.filter(customer=customer, external_id=order_external_id)
        .prefetch_related("lines__product").first()
    )


def shopper_event_count(*, customer_id: int | None, visitor_id: str) -> int:
    """How many behavioural events are held for the shopper (shown in the privacy centre)."""
    who = Q(session_id=visitor_id) if visitor_id else Q(pk__in=[])
    if customer_id is not None:
        who |= Q(customer_id=customer_id)
    return Event.objects.filter(who).count()
