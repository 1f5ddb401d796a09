"""Serving: what a shopper or partner is shown, from the active version's precomputed lists.

Serving is a look-up plus light re-ranking: read the precomputed list, apply the business
rules (active and in stock, not already bought, not excluded, category and price filters,
diversity), render each reason in words, and top up from popularity when a list runs short.
With no trained model, popular items are served. Real-time signals (views and add-to-cart
since the last retrain) drive "because you viewed" without waiting for a retrain.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from recommendations.engine.reasons import Reason, ReasonKind, render_reason
from retailsite.commerce.models import Category, Event, Follow, OrderLine, Product
from retailsite.tenancy.context import current_tenant_id

from .models import CustomerRecommendations, ProductNeighbours, RankedList
from .selectors import active_version_id

MAX_K = 100
UNRANKED = "unranked"  # an item of the caller's list the model knows nothing about: no reason to give
RECENT_EVENTS_WINDOW = timedelta(days=30)
RECENT_EVENT_TYPES = ("view", "cart", "wishlist")


@dataclass(frozen=True)
class Filters:
    """Serve-time business rules chosen by the caller (the tenant's defaults fill the gaps)."""

    k: int = 10
    category_id: int | None = None  # includes its sub-categories
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    exclude_product_ids: frozenset[int] = frozenset()
    include_purchased: bool | None = None  # None: the tenant's `exclude_purchased` setting decides
    max_per_category: int | None = None  # None: the tenant's `max_per_category` setting


@dataclass(frozen=True)
class ServedItem:
    product_id: int
    external_id: str
    name: str
    price: Decimal
    category_id: int | None
    category_path: str
    score: float
    reason: str
    reason_kind: str
    anchor_product_id: int | None = None


@dataclass
class ServedList:
    recommendation_id: str
    model_version_id: int | None
    surface: str
    items: list[ServedItem] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    product_id: int
    score: float
    kind: str
    anchor: int | None = None
    category: int | None = None


def new_recommendation_id(version_id: int | None) -> str:
    """Carries the model version, so events citing it are attributed without a write per request."""
    return f"v{version_id or 0}-{uuid.uuid4().hex[:16]}"


def version_of_recommendation_id(recommendation_id: str) -> int | None:
    head = recommendation_id.split("-", 1)[0]
    if head.startswith("v") and head[1:].isdigit():
        return int(head[1:]) or None
    return None


# -- public entry points ---------------------------------------------------------------------------


def recommend_for_customer(*, customer_id: int | None, session_id: str = "", filters: Filters = Filters(),
                           personalized: bool = True, surface: str = "for_you") -> ServedList:
    """"Recommended for you": the customer's precomputed list, or a session/popularity fallback."""
    version_id = active_version_id()
    candidates: list[_Candidate] = []
    if personalized and customer_id is not None and version_id is not None:
        candidates = _precomputed_for_customer(version_id, customer_id)
    if personalized and not candidates:
        candidates = _because_recent(version_id, customer_id=customer_id, session_id=session_id, limit=50)
    if personalized and customer_id is not None and filters.include_purchased:
        # Precomputed lists leave bought items out (the default); asked for, they come back after them.
        candidates += [_Candidate(pid, 0.0, ReasonKind.PERSONALIZED) for pid in purchased_product_ids(customer_id)]
    return _finish(candidates, filters=filters, customer_id=customer_id if personalized else None,
                   version_id=version_id, surface=surface)


def because_viewed(*, customer_id: int | None, session_id: str = "", filters: Filters = Filters(),
                   top_up: bool = True) -> ServedList:
    """Items similar to what the shopper viewed or carted recently (live, no retrain needed)."""
    version_id = active_version_id()
    candidates = _because_recent(version_id, customer_id=customer_id, session_id=session_id, limit=60)
    return _finish(candidates, filters=filters, customer_id=customer_id, version_id=version_id,
                   surface="because_viewed", top_up=top_up)


def trending(*, filters: Filters = Filters()) -> ServedList:
    version_id = active_version_id()
    key = f"trending:category:{filters.category_id}" if filters.category_id else "trending"
    candidates = _ranked(version_id, key) or _ranked(version_id, "trending")
    return _finish(candidates + _ranked(version_id, "popular"), filters=filters, customer_id=None,
                   version_id=version_id, surface="trending")


def popular_with_followed(*, customer_id: int, filters: Filters = Filters()) -> ServedList:
    """What the people a customer follows bought recently, weighted by how many of them bought it."""
    version_id = active_version_id()
    followees = list(Follow.objects.filter(follower_id=customer_id).values_list("followee_id", flat=True)[:500])
    candidates: list[_Candidate] = []
    if followees:
        since = timezone.now() - timedelta(days=365)
        rows = (
            OrderLine.objects.filter(order__customer_id__in=followees, order__ordered_at__gte=since)
            .values("product_id")
            .annotate(buyers=Count("order__customer_id", distinct=True))
            .order_by("-buyers")[:60]
        )
        candidates = [_Candidate(r["product_id"], float(r["buyers"]), ReasonKind.FOLLOWED_BOUGHT) for r in rows]
    return _finish(candidates, filters=filters, customer_id=customer_id, version_id=version_id,
                   surface="followed", top_up=False)


def similar_items(*, product_id: int, filters: Filters = Filters()) -> ServedList:
    return _neighbours(product_id, "similar", ReasonKind.SIMILAR_TO, filters)


def bought_together(*, product_id: int, filters: Filters = Filters()) -> ServedList:
    return _neighbours(product_id, "bought_together", ReasonKind.BOUGHT_TOGETHER, filters)


def rerank(*, customer_id: int | None, product_ids: Sequence[int], session_id: str = "") -> ServedList:
    """Order the caller's own list for this shopper; unknown-to-the-model items keep their order, last."""
    version_id = active_version_id()
    personal = _precomputed_for_customer(version_id, customer_id) if customer_id and version_id else []
    recent = _because_recent(version_id, customer_id=customer_id, session_id=session_id, limit=100)
    popular = _ranked(version_id, "popular")
    best: dict[int, _Candidate] = {}
    for weight, source in ((3.0, personal), (2.0, recent), (1.0, popular)):
        top = max((c.score for c in source), default=1.0) or 1.0
        for candidate in source:
            scaled = weight + candidate.score / top
            if candidate.product_id not in best or best[candidate.product_id].score < scaled:
                best[candidate.product_id] = replace(candidate, score=scaled)
    wanted = list(dict.fromkeys(product_ids))
    ranked = sorted(wanted, key=lambda pid: (-(best[pid].score if pid in best else 0.0), wanted.index(pid)))
    candidates = [best.get(pid, _Candidate(pid, 0.0, UNRANKED)) for pid in ranked]
    filters = Filters(k=len(wanted), include_purchased=True, max_per_category=0)
    return _finish(candidates, filters=filters, customer_id=None, version_id=version_id, surface="rerank",
                   top_up=False, keep_unavailable=True)


# -- candidates ------------------------------------------------------------------------------------


def _unpack(items: dict, default_kind: str) -> list[_Candidate]:
    products, scores = items.get("p", []), items.get("s", [])
    kinds, anchors, categories = items.get("k"), items.get("a"), items.get("c")
    return [
        _Candidate(pid, float(scores[i]) if i < len(scores) else 0.0,
                   kinds[i] if kinds else default_kind,
                   anchors[i] if anchors else None,
                   categories[i] if categories else None)
        for i, pid in enumerate(products)
    ]


def _precomputed_for_customer(version_id: int | None, customer_id: int | None) -> list[_Candidate]:
    if version_id is None or customer_id is None:
        return []
    items = (
        CustomerRecommendations.objects.filter(model_version_id=version_id, customer_id=customer_id)
        .values_list("items", flat=True).first()
    )
    return _unpack(items, ReasonKind.PERSONALIZED) if items else []


def _ranked(version_id: int | None, key: str) -> list[_Candidate]:
    if version_id is not None:
        items = RankedList.objects.filter(model_version_id=version_id, key=key).values_list("items", flat=True).first()
        if items:
            kind = ReasonKind.TRENDING if key.startswith("trending") else ReasonKind.POPULAR
            return _unpack(items, kind)
    if key != "popular":
        return []
    # No trained model (or none with this list): the most ordered active products of the last year.
    since = timezone.now() - timedelta(days=365)
    rows = (
        OrderLine.objects.filter(order__ordered_at__gte=since, product__active=True)
        .values("product_id").annotate(n=Count("id")).order_by("-n")[:MAX_K]
    )
    candidates = [_Candidate(r["product_id"], float(r["n"]), ReasonKind.POPULAR) for r in rows]
    if len(candidates) < MAX_K:  # a brand-new store: newest products
        seen = {c.product_id for c in candidates}
        newest = Product.objects.filter(active=True).exclude(id__in=seen).order_by("-created_at")
        candidates += [_Candidate(pid, 0.0, ReasonKind.NEW_ARRIVAL)
                       for pid in newest.values_list("id", flat=True)[: MAX_K - len(candidates)]]
    return candidates


def _recent_products(*, customer_id: int | None, session_id: str, limit: int = 8) -> list[int]:
    if customer_id is None and not session_id:
        return []
    who = Q(customer_id=customer_id) if customer_id is not None else Q(session_id=session_id)
    if customer_id is not None and session_id:
        who |= Q(session_id=session_id)
    since = timezone.now() - RECENT_EVENTS_WINDOW
    rows = (
        Event.objects.filter(who, occurred_at__gte=since, event_type__in=RECENT_EVENT_TYPES)
        .order_by("-occurred_at").values_list("product_id", flat=True)[:100]
    )
    return list(dict.fromkeys(rows))[:limit]


def _because_recent(version_id: int | None, *, customer_id: int | None, session_id: str,
                    limit: int) -> list[_Candidate]:
    recent = _recent_products(customer_id=customer_id, session_id=session_id)
    if not recent:
        return []
    neighbours: dict[int, dict] = {}
    if version_id is not None:
        neighbours = dict(
            ProductNeighbours.objects.filter(model_version_id=version_id, product_id__in=recent)
            .values_list("product_id", "similar")
        )
    candidates: list[_Candidate] = []
    for rank, anchor in enumerate(recent):
        similar = neighbours.get(anchor)
        if not similar:
            similar = _same_category_fallback(anchor)
        recency_weight = 1.0 / (1 + rank)  # the latest view counts most
        for candidate in _unpack(similar, ReasonKind.BECAUSE_VIEWED):
            candidates.append(_Candidate(candidate.product_id, candidate.score * recency_weight,
                                         ReasonKind.BECAUSE_VIEWED, anchor))
    best: dict[int, _Candidate] = {}
    for candidate in candidates:
        if candidate.product_id in recent:
            continue
        if candidate.product_id not in best or best[candidate.product_id].score < candidate.score:
            best[candidate.product_id] = candidate
    return sorted(best.values(), key=lambda c: -c.score)[:limit]


def _same_category_fallback(product_id: int) -> dict:
    """Without a trained model, "similar" means the same category, most ordered first."""
    category_id = Product.objects.filter(id=product_id).values_list("category_id", flat=True).first()
    if category_id is None:
        return {}
    rows = (
        Product.objects.filter(category_id=category_id, active=True).exclude(id=product_id)
        .annotate(n=Count("order_lines")).order_by("-n").values_list("id", "n")[:30]
    )
    return {"p": [r[0] for r in rows], "s": [1.0 / (1 + i) for i, _ in enumerate(rows)]}


def _neighbours(product_id: int, column: str, kind: ReasonKind, filters: Filters) -> ServedList:
    version_id = active_version_id()
    items = None
    if version_id is not None:
        items = (
            ProductNeighbours.objects.filter(model_version_id=version_id, product_id=product_id)
            .values_list(column, flat=True).first()
        )
    if not items and column == "similar":
        items = _same_category_fallback(product_id)
    candidates = [replace(c, kind=kind, anchor=product_id) for c in _unpack(items or {}, kind)]
    candidates = [c for c in candidates if c.product_id != product_id]
    filters = replace(filters, exclude_product_ids=filters.exclude_product_ids | {product_id},
                      include_purchased=True if filters.include_purchased is None else filters.include_purchased)
    return _finish(candidates, filters=filters, customer_id=None, version_id=version_id, surface=column,
                   top_up=False)


# -- rules and rendering -----------------------------------------------------------------------------


_SETTINGS_TTL = 5.0
_settings_cache: dict[int, tuple[float, dict]] = {}


def _tenant_setting(key: str) -> object:
    """A serving default of the current tenant; settings are re-read at most every few seconds."""
    from retailsite.tenancy.models import Tenant

    tenant_id = current_tenant_id()
    now = time.monotonic()
    cached = _settings_cache.get(tenant_id)
    if cached is None or now - cached[0] > _SETTINGS_TTL:
        tenant = Tenant.objects.get(pk=tenant_id)
        cached = (now, {name: tenant.setting(name) for name in ("exclude_purchased", "max_per_category")})
        _settings_cache[tenant_id] = cached
    return cached[1][key]


def _category_subtree(category_id: int) -> set[int]:
    path = Category.objects.filter(id=category_id).values_list("path", flat=True).first()
    if path is None:
        return set()
    return set(
        Category.objects.filter(Q(id=category_id) | Q(path__startswith=f"{path} > ")).values_list("id", flat=True)
    )


def purchased_product_ids(customer_id: int) -> set[int]:
    return set(OrderLine.objects.filter(order__customer_id=customer_id).values_list("product_id", flat=True))


def _finish(candidates: Iterable[_Candidate], *, filters: Filters, customer_id: int | None,
            version_id: int | None, surface: str, top_up: bool = True,
            keep_unavailable: bool = False) -> ServedList:
    k = max(1, min(int(filters.k), MAX_K))
    include_purchased = filters.include_purchased
    if include_purchased is None:
        include_purchased = not _tenant_setting("exclude_purchased")
    max_per_category = filters.max_per_category
    if max_per_category is None:
        max_per_category = _tenant_setting("max_per_category")

    if top_up:
        # Never a short list: popular items follow, under the same rules (and the same diversity cap).
        candidates = [*candidates, *_ranked(version_id, "popular")]
    ordered: list[_Candidate] = []
    seen: set[int] = set()
    for candidate in candidates:
        if candidate.product_id not in seen:
            seen.add(candidate.product_id)
            ordered.append(candidate)
    excluded = set(filters.exclude_product_ids)
    if customer_id is not None and not include_purchased:
        excluded |= purchased_product_ids(customer_id)
    ordered = [c for c in ordered if c.product_id not in excluded]

    wanted_ids = {c.product_id for c in ordered} | {c.anchor for c in ordered if c.anchor}
    products = {p["id"]: p for p in Product.objects.filter(id__in=wanted_ids).values(
        "id", "external_id", "name", "price", "active", "category_id", "category__path", "category__name")}
    allowed_categories = _category_subtree(filters.category_id) if filters.category_id else None
    per_category: dict[int | None, int] = {}
    items: list[ServedItem] = []
    for candidate in ordered:
        product = products.get(candidate.product_id)
        if product is None or (not product["active"] and not keep_unavailable):
            continue
        if allowed_categories is not None and product["category_id"] not in allowed_categories:
            continue
        if filters.min_price is not None and product["price"] < filters.min_price:
            continue
        if filters.max_price is not None and product["price"] > filters.max_price:
            continue
        if max_per_category:
            count = per_category.get(product["category_id"], 0)
            if count >= max_per_category:
                continue
            per_category[product["category_id"]] = count + 1
        items.append(_served(candidate, product, products))
        if len(items) >= k:
            break
    return ServedList(new_recommendation_id(version_id), version_id, surface, items)


def _served(candidate: _Candidate, product: dict, products: dict[int, dict]) -> ServedItem:
    if candidate.kind == UNRANKED:
        reason, kind_value = "", UNRANKED
    else:
        known = candidate.kind in ReasonKind._value2member_map_
        kind = ReasonKind(candidate.kind) if known else ReasonKind.PERSONALIZED
        category = candidate.category if candidate.category is not None else product["category_id"]
        reason = render_reason(
            Reason(kind, candidate.anchor, category),
            lambda pid: products.get(pid, {}).get("name", ""),
            lambda cid: product["category__name"] or "" if cid == product["category_id"] else "",
        )
        kind_value = kind.value
    return ServedItem(
        product_id=product["id"], external_id=product["external_id"], name=product["name"], price=product["price"],
        category_id=product["category_id"], category_path=product["category__path"] or "", score=candidate.score,
        reason=reason, reason_kind=kind_value, anchor_product_id=candidate.anchor,
    )
