"""Read-side queries over commerce data (always within the current tenant)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from .models import Product


def product_list_popular(*, limit: int = 24) -> QuerySet[Product]:
    """Active products by number of order lines (a fallback list before any model is trained)."""
    return (
        Product.objects.filter(active=True)
        .select_related("category")
        .annotate(order_count=Count("order_lines"))
        .order_by("-order_count", "name")[:limit]
    )
