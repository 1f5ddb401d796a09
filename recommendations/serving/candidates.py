"""Where a list's candidates come from: the active version's precomputed lists, the shopper's recent products and
their neighbours, what followed people bought, and popularity when there is no trained model.

A version's non-personal lists (popular, trending, item neighbours) are written once, before the version is
activated, and never change: each process keeps the ones it has read, keyed by the version. Per-shopper inputs
go through the request's memo, so a page with several lists reads each once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.db.models import Count
from django.utils import timezone

from domain.events import EVENT_CART, EVENT_VIEW, EVENT_WISHLIST
from recommendations.engine.reasons import ReasonKind
from recommendations.models import RankedList
from recommendations.stored_lists import Candidate, StoredList, unpack_list
from retailsite.commerce.models import OrderLine, Product
from retailsite.sql import fetchall, fetchone_prepared, json_value
from retailsite.tenancy.context import require_tenant_id

from .memo import RequestMemo

MAX_K = 100
RECENT_EVENTS_WINDOW = timedelta(days=30)
RECENT_EVENT_TYPES = (EVENT_VIEW, EVENT_CART, EVENT_WISHLIST)  # the shopper's recent interest, not purchases
RECENT_LIMIT = 8  # how many of the shopper's latest products "because you viewed" starts from
FOLLOWED_WINDOW = timedelta(days=365)  # "popular with people you follow": their purchases of the last year
NEIGHBOUR_COLUMNS = ("similar", "bought_together")

T = TypeVar("T")

# -- a version's lists, kept per process -------------------------------------------------------------------------

_VERSION_DATA_MAX = 50_000
_version_data: dict[tuple, object] = {}


def _constant(value: StoredList) -> Callable[[], StoredList]:
    return lambda: value


def version_cached(key: tuple, load: Callable[[], T]) -> T:
    """`load()` once per process for a key that names a version (its data never changes); bounded."""
    try:
        return _version_data[key]  # type: ignore[return-value]
    except KeyError:
        pass
    value = load()
    if len(_version_data) >= _VERSION_DATA_MAX:
        _version_data.clear()
    _version_data[key] = value
    return value


def remember_neighbours(version_id: int, column: str, product_id: int, stored: StoredList) -> None:
    """A neighbour list read by a combined statement, kept as `neighbour_lists` would keep it."""
    version_cached((require_tenant_id(), version_id, column, product_id), lambda: stored)


def neighbour_lists(memo: RequestMemo, product_ids: list[int], column: str) -> dict[int, StoredList]:
    """The version's `similar` or `bought_together` lists of these products (read once per process)."""
    version_id = memo.version_id
    if version_id is None or not product_ids:
        return {}
    assert column in NEIGHBOUR_COLUMNS  # a column name, quoted below: SIMILAR is an SQL keyword
    tenant_id = memo.tenant_id
    found: dict[int, StoredList] = {}
    missing = []
    for pid in product_ids:
        cached = _version_data.get((tenant_id, version_id, column, pid))
        if cached is None:
            missing.append(pid)
        else:
            found[pid] = cached  # type: ignore[assignment]
    if missing:
        marks = ", ".join("%s" for _ in missing)
        rows = {
            pid: json_value(items)
            for pid, items in fetchall(
                f'SELECT product_id, "{column}" FROM recommendations_productneighbours'
                f" WHERE tenant_id = %s AND model_version_id = %s AND product_id IN ({marks})",
                [tenant_id, version_id, *missing],
            )
        }
        for pid in missing:
            stored: StoredList = rows.get(pid) or {}  # type: ignore[assignment]
            found[pid] = version_cached((tenant_id, version_id, column, pid), _constant(stored))
    return found


def ranked(memo: RequestMemo, key: str) -> list[Candidate]:
    """A non-personal list of the version ("popular", "trending", "trending:category:<id>")."""
    version_id = memo.version_id
    if version_id is not None:

        def load() -> list[Candidate]:
            items = (
                RankedList.objects.filter(model_version_id=version_id, key=key).values_list("items", flat=True).first()
            )
            return unpack_list(items, ReasonKind.TRENDING if key.startswith("trending") else ReasonKind.POPULAR)

        found = version_cached((memo.tenant_id, version_id, "ranked", key), load)
        if found:
            return list(found)
    if key != "popular":
        return []
    if memo.popular_without_model is None:
        memo.popular_without_model = _popular_without_model()
    return list(memo.popular_without_model)


def _popular_without_model() -> list[Candidate]:
    """No trained model (or none with this list): the most ordered active products of the last year."""
    since = timezone.now() - timedelta(days=365)
    rows = (
        OrderLine.objects.filter(order__ordered_at__gte=since, product__active=True)
        .values("product_id")
        .annotate(n=Count("id"))
        .order_by("-n")[:MAX_K]
    )
    candidates = [Candidate(r["product_id"], float(r["n"]), ReasonKind.POPULAR) for r in rows]
    if len(candidates) < MAX_K:  # a brand-new store: newest products
        seen = {c.product_id for c in candidates}
        newest = Product.objects.filter(active=True).exclude(id__in=seen).order_by("-created_at")
        candidates += [
            Candidate(pid, 0.0, ReasonKind.NEW_ARRIVAL)
            for pid in newest.values_list("id", flat=True)[: MAX_K - len(candidates)]
        ]
    return candidates


# -- per shopper, through the memo -------------------------------------------------------------------------------


def precomputed_for_customer(memo: RequestMemo, customer_id: int | None) -> list[Candidate]:
    """The customer's list under the request's version ([] without a version or a list)."""
    if customer_id is None or memo.version_id is None:
        return []
    if customer_id not in memo.precomputed:
        rows = fetchall(
            "SELECT items FROM recommendations_customerrecommendations"
            " WHERE tenant_id = %s AND model_version_id = %s AND customer_id = %s",
            [memo.tenant_id, memo.version_id, customer_id],
        )
        memo.precomputed[customer_id] = unpack_list(json_value(rows[0][0]) if rows else None, ReasonKind.PERSONALIZED)
    return memo.precomputed[customer_id]


def purchased_product_ids(customer_id: int) -> set[int]:
    return set(OrderLine.objects.filter(order__customer_id=customer_id).values_list("product_id", flat=True))


def purchased(memo: RequestMemo, customer_id: int) -> set[int]:
    if customer_id not in memo.purchased:
        memo.purchased[customer_id] = purchased_product_ids(customer_id)
    return memo.purchased[customer_id]


# How many of the shopper's latest events are read to find their RECENT_LIMIT distinct latest products.
RECENT_EVENTS_READ = 100


def recent_events_sql(*, customer: str | None, session: bool) -> str:
    """SQL of the shopper's latest events of interest (`product_id, occurred_at, id`, newest first, at most
    RECENT_EVENTS_READ): those of the customer (`customer`: an SQL expression of their id) and of the session
    (`%(session)s`), with `%(tenant)s`, `%(recent_since)s` and `%(recent_types)s` (an array) as parameters.

    Each side is read from its own index, which includes every column read here (an index-only scan where the
    table's visibility map allows), and the two are merged: a condition "customer OR session" is a bitmap scan,
    which reads every one of the shopper's recent events from the table — tens of scattered pages a page view.
    """
    sides = []
    for who in ([f"customer_id = {customer}"] if customer else []) + (["session_id = %(session)s"] if session else []):
        sides.append(
            "(SELECT product_id, occurred_at, id FROM commerce_event"
            f" WHERE tenant_id = %(tenant)s AND {who} AND occurred_at >= %(recent_since)s"
            f" AND event_type = ANY(%(recent_types)s) ORDER BY occurred_at DESC, id DESC LIMIT {RECENT_EVENTS_READ})"
        )
    if not sides:
        return "SELECT NULL::bigint AS product_id, NULL::timestamptz AS occurred_at, NULL::bigint AS id WHERE false"
    if len(sides) == 1:
        return sides[0][1:-1]
    return (
        f"SELECT product_id, occurred_at, id FROM ({' UNION '.join(sides)}) e"
        f" ORDER BY occurred_at DESC, id DESC LIMIT {RECENT_EVENTS_READ}"
    )


def recent_events_params() -> dict[str, object]:
    """The parameters `recent_events_sql` names, but for the customer and the session."""
    return {
        "tenant": require_tenant_id(),
        "recent_since": timezone.now() - RECENT_EVENTS_WINDOW,
        "recent_types": list(RECENT_EVENT_TYPES),
    }


def read_recent_product_ids(*, customer_id: int | None, session_id: str, limit: int = RECENT_LIMIT) -> list[int]:
    """What the shopper viewed, carted or wish-listed lately, the latest first (distinct)."""
    if customer_id is None and not session_id:
        return []
    params = recent_events_params()
    if customer_id is not None:
        params["customer"] = customer_id
    if session_id:
        params["session"] = session_id
    events = recent_events_sql(customer="%(customer)s" if customer_id is not None else None, session=bool(session_id))
    # One row (an array), so the statement can be prepared: planned once per connection rather than on every
    # page that re-ranks for the shopper (planning it costs the server more than running it does).
    row = fetchone_prepared(
        f"SELECT ARRAY(SELECT product_id FROM ({events}) e ORDER BY occurred_at DESC, id DESC)", params
    )
    return list(dict.fromkeys(row[0] if row is not None else ()))[:limit]


def recent(memo: RequestMemo, customer_id: int | None, session_id: str) -> list[int]:
    key = (customer_id, session_id)
    if key not in memo.recent:
        memo.recent[key] = read_recent_product_ids(customer_id=customer_id, session_id=session_id)
    return memo.recent[key]


def followed_bought(memo: RequestMemo, customer_id: int) -> list[tuple[int, float]]:
    """(product id, buyers): what the people the customer follows bought in the last year, most buyers first."""
    if customer_id not in memo.followed:
        tenant_id = memo.tenant_id
        rows = fetchall(
            "SELECT l.product_id, COUNT(DISTINCT o.customer_id) AS buyers"
            " FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id"
            " WHERE l.tenant_id = %s AND o.tenant_id = %s AND o.ordered_at >= %s AND o.customer_id IN"
            " (SELECT followee_id FROM commerce_follow WHERE tenant_id = %s AND follower_id = %s LIMIT 500)"
            " GROUP BY l.product_id ORDER BY buyers DESC, l.product_id LIMIT 60",
            [tenant_id, tenant_id, timezone.now() - FOLLOWED_WINDOW, tenant_id, customer_id],
        )
        memo.followed[customer_id] = [(int(pid), float(buyers)) for pid, buyers in rows]
    return memo.followed[customer_id]


def because_recent(memo: RequestMemo, *, customer_id: int | None, session_id: str, limit: int) -> list[Candidate]:
    """Neighbours of the shopper's recent products, the latest product counting most (its own items left out)."""
    latest = recent(memo, customer_id, session_id)
    if not latest:
        return []
    neighbours = neighbour_lists(memo, latest, "similar")
    latest_ids = set(latest)
    # Read straight from the stored lists (product ids and scores side by side): only the kept ones become
    # candidates, where unpacking every list first made a candidate of each of their items on every page.
    best: dict[int, tuple[float, int]] = {}  # product -> (score, the recent product it is similar to)
    for rank, anchor in enumerate(latest):
        similar = neighbours.get(anchor) or same_category_fallback(anchor)
        recency_weight = 1.0 / (1 + rank)  # the latest view counts most
        products, scores = similar.get("p") or [], similar.get("s") or []
        for index, product_id in enumerate(products):
            if product_id in latest_ids:
                continue
            score = (float(scores[index]) if index < len(scores) else 0.0) * recency_weight
            kept = best.get(product_id)
            if kept is None or kept[0] < score:
                best[product_id] = (score, anchor)
    ranked = sorted(best.items(), key=lambda item: -item[1][0])[:limit]
    return [Candidate(pid, score, ReasonKind.BECAUSE_VIEWED, anchor) for pid, (score, anchor) in ranked]


def same_category_fallback(product_id: int) -> StoredList:
    """Without a trained model, "similar" means the same category, most ordered first."""
    category_id = Product.objects.filter(id=product_id).values_list("category_id", flat=True).first()
    if category_id is None:
        return {}
    rows = (
        Product.objects.filter(category_id=category_id, active=True)
        .exclude(id=product_id)
        .annotate(n=Count("order_lines"))
        .order_by("-n")
        .values_list("id", "n")[:30]
    )
    return {"p": [r[0] for r in rows], "s": [1.0 / (1 + i) for i, _ in enumerate(rows)]}
