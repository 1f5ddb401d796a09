"""Serving: what a shopper or partner is shown, from the active version's precomputed lists.

Serving is a look-up plus light re-ranking: read the precomputed list, apply the business
rules (active, not already bought, not excluded, category and price filters, diversity),
render each reason in words, and top up from popularity when a list runs short. With no
trained model, popular items are served. Real-time signals (views and add-to-cart since the
last retrain) drive "because you viewed" without waiting for a retrain.

What each request reads, and why it is cheap:
- a version's non-personal lists (popular, trending, item neighbours) never change once the
  version is trained, so each process keeps them in memory, keyed by the version;
- names, external ids and the category tree come from a per-process catalog snapshot, checked
  against the store's catalog version (retailsite/commerce/catalog_version.py) at most every few
  seconds and reloaded when a product or category write bumped it;
- whether a product is active, its price and its category — what the business rules decide
  on — are always read live, in the same round trip as the rest where possible, so a product
  withdrawn a moment ago is never served, however it was changed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from recommendations.engine.reasons import Reason, ReasonKind, render_reason
from retailsite.commerce.catalog_version import catalog_version_token, local_generation
from retailsite.commerce.models import Category, Customer, OrderLine, Product
from retailsite.tenancy.context import current_tenant_id, require_tenant_id

from .arms import experiment_arm, experiments_running
from .models import RankedList
from .selectors import active_version_id

MAX_K = 100
UNRANKED = "unranked"  # an item of the caller's list the model knows nothing about: no reason to give
RECENT_EVENTS_WINDOW = timedelta(days=30)
RECENT_EVENT_TYPES = ("view", "cart", "wishlist")
FOLLOWED_WINDOW = timedelta(days=365)  # "popular with people you follow": their purchases of the last year


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
    # Products to leave out if enough others remain (a page's later lists avoid repeating its earlier ones):
    # with fewer than `min_when_avoiding` items left, the list is chosen as if none were avoided.
    avoid_product_ids: frozenset[int] = frozenset()
    min_when_avoiding: int = 0


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


class _Candidate(NamedTuple):  # a tuple: lists of a hundred are built on every request
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


def recommend_for_customer(
    *,
    customer_id: int | None,
    session_id: str = "",
    filters: Filters = Filters(),
    personalized: bool = True,
    surface: str = "for_you",
    recent: list[int] | None = None,
    purchased: set[int] | None = None,
    live: dict[int, LiveState] | None = None,
    precomputed: list[_Candidate] | None = None,
) -> ServedList:
    """ "Recommended for you": the customer's precomputed list, or a session/popularity fallback.

    `recent`, `purchased`, `live` and `precomputed` (the customer's list under the active version):
    what the caller already read in this request (see `_finish` and `shopper_page_inputs`).
    """
    version_id = _active_version()
    arm = experiment_arm(customer_id, session_id) if personalized else None  # an online experiment's arm
    if arm is not None:
        if arm.model_version_id not in (None, version_id):
            version_id, precomputed = arm.model_version_id, None  # the caller read the active version's list
        filters = arm.filters(filters)
    candidates: list[_Candidate] = []
    if personalized and customer_id is not None and version_id is not None:
        candidates = precomputed if precomputed is not None else _precomputed_for_customer(version_id, customer_id)
    if personalized and not candidates:
        candidates = _because_recent(
            version_id, customer_id=customer_id, session_id=session_id, limit=50, recent=recent
        )
    if personalized and customer_id is not None and filters.include_purchased:
        # Precomputed lists leave bought items out (the default); asked for, they come back after them.
        bought = purchased if purchased is not None else purchased_product_ids(customer_id)
        candidates += [_Candidate(pid, 0.0, ReasonKind.PERSONALIZED) for pid in bought]
    served = _finish(
        candidates,
        filters=filters,
        customer_id=customer_id if personalized else None,
        version_id=version_id,
        surface=surface,
        purchased=purchased,
        live=live,
    )
    if arm is not None:
        served.recommendation_id = arm.name(served.recommendation_id)
    return served


# The partner API's hot path: the customer (by external id) and their consent, their precomputed
# list, what they bought (also since the list was trained) and the live state of the list's
# products, in one round trip.
_CUSTOMER_LIST_SQL = """
SELECT c.id, c.personalization_consent, r.items,
       ARRAY(SELECT DISTINCT l.product_id
               FROM commerce_order o JOIN commerce_orderline l ON l.order_id = o.id
              WHERE o.tenant_id = %(tenant)s AND l.tenant_id = %(tenant)s AND o.customer_id = c.id),
       (SELECT json_agg(json_build_array(p.id, p.active, p.price::text, p.category_id))
          FROM commerce_product p
         WHERE p.tenant_id = %(tenant)s
           AND p.id IN (SELECT jsonb_array_elements_text(r.items -> 'p')::bigint))
  FROM commerce_customer c
  LEFT JOIN recommendations_customerrecommendations r
         ON r.tenant_id = %(tenant)s AND r.model_version_id = %(version)s AND r.customer_id = c.id
 WHERE c.tenant_id = %(tenant)s AND c.external_id = %(external_id)s
"""


def recommend_for_customer_external_id(*, external_id: str, filters: Filters = Filters()) -> ServedList | None:
    """ "Recommended for you" for the customer with this external id; None if the store has no such customer.

    Without personalization consent the customer gets non-personalized results.
    """
    if "\x00" in external_id:  # PostgreSQL text cannot hold NUL: no such customer anywhere
        return None
    if connection.vendor != "postgresql":
        row = Customer.objects.filter(external_id=external_id).values_list("id", "personalization_consent").first()
        if row is None:
            return None
        return recommend_for_customer(customer_id=row[0], filters=filters, personalized=row[1])
    version_id = active_version_id()
    row = fetchone_prepared(
        _CUSTOMER_LIST_SQL, {"tenant": require_tenant_id(), "version": version_id, "external_id": external_id}
    )
    if row is None:
        return None
    customer_id, consent, items, purchased, live_rows = row
    if consent and experiments_running():  # the experiment picks this customer's version: the general path
        return recommend_for_customer(customer_id=customer_id, filters=filters, purchased=set(purchased))
    items, live_rows = _json(items), _json(live_rows)
    if not consent or not items or not items.get("p"):
        return recommend_for_customer(customer_id=customer_id, filters=filters, personalized=consent)
    candidates = _unpack(items, ReasonKind.PERSONALIZED)
    if filters.include_purchased:
        candidates += [_Candidate(pid, 0.0, ReasonKind.PERSONALIZED) for pid in purchased]
    live = {pid: (active, Decimal(price), category_id) for pid, active, price, category_id in live_rows or ()}
    return _finish(
        candidates,
        filters=filters,
        customer_id=customer_id,
        version_id=version_id,
        surface="for_you",
        purchased=set(purchased),
        live=live,
    )


def fetchone_prepared(sql: str, params: dict | Sequence) -> tuple | None:
    """One row of a hot query as a prepared statement, so PostgreSQL plans it once per connection.

    Django's PostgreSQL cursors bind parameters on the client, which rules out prepared statements;
    planning this query (row-level security included) costs more than running it. When the
    deployment allows prepared statements (DATABASE_PREPARE_THRESHOLD, i.e. no transaction pooler
    that cannot carry them) and we are inside the request's transaction, the query goes through a
    server-side-binding cursor on the same connection, after the tenancy backend applied the tenant
    (and actor) as its execute wrapper does for every query; otherwise it takes Django's ordinary path.
    """
    apply = getattr(connection, "apply_tenant_setting", None)
    connection.ensure_connection()
    if (
        apply is None
        or not connection.in_atomic_block
        or getattr(connection.connection, "prepare_threshold", None) is None
    ):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    apply()
    started = time.perf_counter()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if connection.queries_logged:  # as Django's debug cursor does, so query counts stay honest
        connection.queries_log.append({"sql": sql, "time": f"{time.perf_counter() - started:.3f}"})
    return row


def because_viewed(
    *,
    customer_id: int | None,
    session_id: str = "",
    filters: Filters = Filters(),
    top_up: bool = True,
    recent: list[int] | None = None,
    purchased: set[int] | None = None,
    live: dict[int, LiveState] | None = None,
) -> ServedList:
    """Items similar to what the shopper viewed or carted recently (live, no retrain needed)."""
    version_id = _active_version()
    candidates = _because_recent(version_id, customer_id=customer_id, session_id=session_id, limit=60, recent=recent)
    return _finish(
        candidates,
        filters=filters,
        customer_id=customer_id,
        version_id=version_id,
        surface="because_viewed",
        top_up=top_up,
        purchased=purchased,
        live=live,
    )


def trending(*, filters: Filters = Filters(), live: dict[int, LiveState] | None = None) -> ServedList:
    version_id = _active_version()
    key = f"trending:category:{filters.category_id}" if filters.category_id else "trending"
    candidates = _ranked(version_id, key) or _ranked(version_id, "trending")
    return _finish(
        candidates + _ranked(version_id, "popular"),
        filters=filters,
        customer_id=None,
        version_id=version_id,
        surface="trending",
        live=live,
    )


def popular_with_followed(
    *,
    customer_id: int,
    filters: Filters = Filters(),
    purchased: set[int] | None = None,
    live: dict[int, LiveState] | None = None,
    rows: Sequence[tuple[int, float]] | None = None,
) -> ServedList:
    """What the people a customer follows bought recently, weighted by how many of them bought it.

    `rows`: (product id, buyers) as `shopper_page_inputs` already read them in this request.
    """
    version_id = _active_version()
    if rows is None:
        tenant_id = require_tenant_id()
        rows = _fetchall(
            "SELECT l.product_id, COUNT(DISTINCT o.customer_id) AS buyers"
            " FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id"
            " WHERE l.tenant_id = %s AND o.tenant_id = %s AND o.ordered_at >= %s AND o.customer_id IN"
            " (SELECT followee_id FROM commerce_follow WHERE tenant_id = %s AND follower_id = %s LIMIT 500)"
            " GROUP BY l.product_id ORDER BY buyers DESC, l.product_id LIMIT 60",
            [tenant_id, tenant_id, timezone.now() - FOLLOWED_WINDOW, tenant_id, customer_id],
        )
    candidates = [_Candidate(pid, float(buyers), ReasonKind.FOLLOWED_BOUGHT) for pid, buyers in rows]
    return _finish(
        candidates,
        filters=filters,
        customer_id=customer_id,
        version_id=version_id,
        surface="followed",
        top_up=False,
        purchased=purchased,
        live=live,
    )


def similar_items(
    *, product_id: int, filters: Filters = Filters(), live: dict[int, LiveState] | None = None
) -> ServedList:
    return _neighbours(product_id, "similar", ReasonKind.SIMILAR_TO, filters, live)


def bought_together(
    *, product_id: int, filters: Filters = Filters(), live: dict[int, LiveState] | None = None
) -> ServedList:
    return _neighbours(product_id, "bought_together", ReasonKind.BOUGHT_TOGETHER, filters, live)


def rerank(*, customer_id: int | None, product_ids: Sequence[int], session_id: str = "") -> ServedList:
    """Order the caller's own list for this shopper; unknown-to-the-model items keep their order, last."""
    version_id = _active_version()
    personal = _precomputed_for_customer(version_id, customer_id) if customer_id and version_id else []
    recent = _because_recent(version_id, customer_id=customer_id, session_id=session_id, limit=100)
    popular = _ranked(version_id, "popular")
    best: dict[int, _Candidate] = {}
    for weight, source in ((3.0, personal), (2.0, recent), (1.0, popular)):
        top = max((c.score for c in source), default=1.0) or 1.0
        for candidate in source:
            scaled = weight + candidate.score / top
            if candidate.product_id not in best or best[candidate.product_id].score < scaled:
                best[candidate.product_id] = candidate._replace(score=scaled)
    wanted = list(dict.fromkeys(product_ids))
    position = {pid: index for index, pid in enumerate(wanted)}
    ranked = sorted(wanted, key=lambda pid: (-(best[pid].score if pid in best else 0.0), position[pid]))
    candidates = [best.get(pid, _Candidate(pid, 0.0, UNRANKED)) for pid in ranked]
    filters = Filters(k=len(wanted), include_purchased=True, max_per_category=0)
    return _finish(
        candidates,
        filters=filters,
        customer_id=None,
        version_id=version_id,
        surface="rerank",
        top_up=False,
        keep_unavailable=True,
    )


# -- candidates ------------------------------------------------------------------------------------

# A version's non-personal lists and item neighbours are written once, before the version is
# activated, and never change: each process keeps the ones it has read (bounded).
_VERSION_DATA_MAX = 50_000
_version_data: dict[tuple, object] = {}


def _version_cached(key: tuple, load):  # type: ignore[no-untyped-def]
    try:
        return _version_data[key]
    except KeyError:
        pass
    value = load()
    if len(_version_data) >= _VERSION_DATA_MAX:
        _version_data.clear()
    _version_data[key] = value
    return value


def _unpack(items: dict, default_kind: str) -> list[_Candidate]:
    products, scores = items.get("p", []), items.get("s", [])
    kinds, anchors, categories = items.get("k"), items.get("a"), items.get("c")
    return [
        _Candidate(
            pid,
            float(scores[i]) if i < len(scores) else 0.0,
            kinds[i] if kinds else default_kind,
            anchors[i] if anchors else None,
            categories[i] if categories else None,
        )
        for i, pid in enumerate(products)
    ]


def _precomputed_for_customer(version_id: int | None, customer_id: int | None) -> list[_Candidate]:
    if version_id is None or customer_id is None:
        return []
    rows = _fetchall(
        "SELECT items FROM recommendations_customerrecommendations"
        " WHERE tenant_id = %s AND model_version_id = %s AND customer_id = %s",
        [require_tenant_id(), version_id, customer_id],
    )
    items = _json(rows[0][0]) if rows else None
    return _unpack(items, ReasonKind.PERSONALIZED) if items else []


def _ranked(version_id: int | None, key: str) -> list[_Candidate]:
    if version_id is not None:

        def load() -> list[_Candidate]:
            items = (
                RankedList.objects.filter(model_version_id=version_id, key=key).values_list("items", flat=True).first()
            )
            if not items:
                return []
            return _unpack(items, ReasonKind.TRENDING if key.startswith("trending") else ReasonKind.POPULAR)

        ranked = _version_cached((require_tenant_id(), version_id, "ranked", key), load)
        if ranked:
            return list(ranked)
    if key != "popular":
        return []
    # No trained model (or none with this list): the most ordered active products of the last year.
    since = timezone.now() - timedelta(days=365)
    rows = (
        OrderLine.objects.filter(order__ordered_at__gte=since, product__active=True)
        .values("product_id")
        .annotate(n=Count("id"))
        .order_by("-n")[:MAX_K]
    )
    candidates = [_Candidate(r["product_id"], float(r["n"]), ReasonKind.POPULAR) for r in rows]
    if len(candidates) < MAX_K:  # a brand-new store: newest products
        seen = {c.product_id for c in candidates}
        newest = Product.objects.filter(active=True).exclude(id__in=seen).order_by("-created_at")
        candidates += [
            _Candidate(pid, 0.0, ReasonKind.NEW_ARRIVAL)
            for pid in newest.values_list("id", flat=True)[: MAX_K - len(candidates)]
        ]
    return candidates


@dataclass(frozen=True)
class ShopperPageInputs:
    """What a signed-in shopper's personal sections are built from, read in one round trip."""

    purchased_latest_first: list[int]  # distinct, the most recent purchase first
    recent: list[int]  # `recent_product_ids`
    precomputed: list[_Candidate] | None  # their list under `version_id` (None: no active version)
    followed: list[tuple[int, float]]  # `popular_with_followed` rows
    version_id: int | None


# A page pins the model version once (`one_version`): its sections then neither ask the cache for it
# again and again nor mix two versions if one is activated halfway through the page.
_pinned_version: ContextVar[tuple[int, int | None] | None] = ContextVar("serving_pinned_version", default=None)


def _active_version() -> int | None:
    pinned = _pinned_version.get()
    if pinned is not None and pinned[0] == current_tenant_id():
        return pinned[1]
    return active_version_id()


@contextmanager
def one_version(version_id: int | None) -> Iterator[None]:
    """Within the block, the current tenant's lists come from `version_id` (the active one, read by the caller)."""
    token = _pinned_version.set((require_tenant_id(), version_id))
    try:
        yield
    finally:
        _pinned_version.reset(token)


# A storefront page's personal inputs: the same look-ups as purchased_product_ids (latest first),
# recent_product_ids, _precomputed_for_customer and popular_with_followed, plus the neighbour lists
# "because you viewed / bought" start from (the recent products' `similar`, the latest purchase's
# `bought_together` and `similar`), as one statement, so a shopper's first visit pays one round trip
# (and one plan, prepared) rather than six.
_SHOPPER_PAGE_SQL = """
WITH bought AS (
  SELECT l.product_id, o.ordered_at, l.id
    FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id
   WHERE l.tenant_id = %(tenant)s AND o.tenant_id = %(tenant)s AND o.customer_id = %(customer)s
), events AS (
  SELECT product_id, occurred_at, id FROM commerce_event
   WHERE tenant_id = %(tenant)s AND {who} AND occurred_at >= %(recent_since)s
     AND event_type IN ({types}) ORDER BY occurred_at DESC, id DESC LIMIT 100
), recent AS (
  SELECT product_id FROM events GROUP BY product_id ORDER BY max(occurred_at) DESC LIMIT %(recent_limit)s
), latest_bought AS (
  SELECT product_id FROM bought ORDER BY ordered_at DESC, id DESC LIMIT 1
)
SELECT
  ARRAY(SELECT product_id FROM bought ORDER BY ordered_at DESC, id DESC),
  ARRAY(SELECT product_id FROM events ORDER BY occurred_at DESC, id DESC),
  (SELECT items FROM recommendations_customerrecommendations
    WHERE tenant_id = %(tenant)s AND model_version_id = %(version)s AND customer_id = %(customer)s),
  (SELECT json_agg(json_build_array(f.product_id, f.buyers) ORDER BY f.buyers DESC, f.product_id)
     FROM (SELECT l.product_id, COUNT(DISTINCT o.customer_id) AS buyers
             FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id
            WHERE l.tenant_id = %(tenant)s AND o.tenant_id = %(tenant)s AND o.ordered_at >= %(followed_since)s
              AND o.customer_id IN (SELECT followee_id FROM commerce_follow
                                     WHERE tenant_id = %(tenant)s AND follower_id = %(customer)s LIMIT 500)
            GROUP BY l.product_id ORDER BY buyers DESC, l.product_id LIMIT 60) f),
  (SELECT json_agg(json_build_array(r.product_id, n."similar"))
     FROM recent r LEFT JOIN recommendations_productneighbours n
       ON n.tenant_id = %(tenant)s AND n.model_version_id = %(version)s AND n.product_id = r.product_id),
  (SELECT json_build_array(b.product_id, n.bought_together, n."similar")
     FROM latest_bought b LEFT JOIN recommendations_productneighbours n
       ON n.tenant_id = %(tenant)s AND n.model_version_id = %(version)s AND n.product_id = b.product_id)
"""
_RECENT_TYPES_SQL = ", ".join(f"%(type{i})s" for i in range(len(RECENT_EVENT_TYPES)))
_SHOPPER_PAGE_SQL_BY_SESSION = {
    False: _SHOPPER_PAGE_SQL.format(who="customer_id = %(customer)s", types=_RECENT_TYPES_SQL),
    True: _SHOPPER_PAGE_SQL.format(
        who="(customer_id = %(customer)s OR session_id = %(session)s)", types=_RECENT_TYPES_SQL
    ),
}


def shopper_page_inputs(*, customer_id: int, session_id: str, recent_limit: int = 8) -> ShopperPageInputs:
    """A consenting signed-in shopper's purchases, recent products, precomputed list and followed-bought rows.

    The neighbour lists read with them go where `_neighbour_lists` keeps a version's lists, so the
    sections built next find them there.
    """
    version_id = _active_version()
    tenant_id = require_tenant_id()
    now = timezone.now()
    params: dict[str, object] = {
        "tenant": tenant_id,
        "customer": customer_id,
        "version": version_id,
        "recent_limit": recent_limit,
        "recent_since": now - RECENT_EVENTS_WINDOW,
        "followed_since": now - FOLLOWED_WINDOW,
        **{f"type{i}": kind for i, kind in enumerate(RECENT_EVENT_TYPES)},
    }
    if session_id:
        params["session"] = session_id
    row = fetchone_prepared(_SHOPPER_PAGE_SQL_BY_SESSION[bool(session_id)], params)
    purchased, recent, items, followed, recent_similar, bought = (
        row if row is not None else ([], [], None, None, None, None)
    )
    if version_id is not None:
        for pid, similar in _json(recent_similar) or ():  # type: ignore[union-attr]
            _version_cached((tenant_id, version_id, "similar", pid), lambda similar=similar: _json(similar) or {})
        if bought:
            pid, together, similar = _json(bought)  # type: ignore[misc]
            _version_cached(
                (tenant_id, version_id, "bought_together", pid), lambda together=together: _json(together) or {}
            )
            _version_cached((tenant_id, version_id, "similar", pid), lambda similar=similar: _json(similar) or {})
    items = _json(items) if items is not None else None
    return ShopperPageInputs(
        purchased_latest_first=list(dict.fromkeys(purchased or ())),
        recent=list(dict.fromkeys(recent or ()))[:recent_limit],
        precomputed=(_unpack(items, ReasonKind.PERSONALIZED) if items else [])  # type: ignore[arg-type]
        if version_id is not None
        else None,
        followed=[(int(pid), float(buyers)) for pid, buyers in (_json(followed) or ())],  # type: ignore[union-attr]
        version_id=version_id,
    )


def recent_product_ids(*, customer_id: int | None, session_id: str, limit: int = 8) -> list[int]:
    """What the shopper viewed, carted or wish-listed lately, the latest first (distinct)."""
    if customer_id is None and not session_id:
        return []
    who, params = [], []
    if customer_id is not None:
        who.append("customer_id = %s")
        params.append(customer_id)
    if session_id:
        who.append("session_id = %s")
        params.append(session_id)
    types = ", ".join("%s" for _ in RECENT_EVENT_TYPES)
    rows = _fetchall(
        f"SELECT product_id FROM commerce_event WHERE tenant_id = %s AND ({' OR '.join(who)})"
        f" AND occurred_at >= %s AND event_type IN ({types}) ORDER BY occurred_at DESC, id DESC LIMIT 100",
        [require_tenant_id(), *params, timezone.now() - RECENT_EVENTS_WINDOW, *RECENT_EVENT_TYPES],
    )
    return list(dict.fromkeys(row[0] for row in rows))[:limit]


def _neighbour_lists(version_id: int | None, product_ids: list[int], column: str) -> dict[int, dict]:
    """A version's `similar` or `bought_together` lists of these products (read once per process)."""
    if version_id is None or not product_ids:
        return {}
    tenant_id = require_tenant_id()
    found: dict[int, dict] = {}
    missing = []
    for pid in product_ids:
        cached = _version_data.get((tenant_id, version_id, column, pid))
        if cached is None:
            missing.append(pid)
        else:
            found[pid] = cached  # type: ignore[assignment]
    if missing:
        assert column in ("similar", "bought_together")  # a column name, quoted: SIMILAR is an SQL keyword
        marks = ", ".join("%s" for _ in missing)
        rows = {
            pid: _json(items)
            for pid, items in _fetchall(
                f'SELECT product_id, "{column}" FROM recommendations_productneighbours'
                f" WHERE tenant_id = %s AND model_version_id = %s AND product_id IN ({marks})",
                [tenant_id, version_id, *missing],
            )
        }
        for pid in missing:
            items = rows.get(pid) or {}
            _version_cached((tenant_id, version_id, column, pid), lambda items=items: items)
            found[pid] = items
    return found


def _because_recent(
    version_id: int | None, *, customer_id: int | None, session_id: str, limit: int, recent: list[int] | None = None
) -> list[_Candidate]:
    if recent is None:
        recent = recent_product_ids(customer_id=customer_id, session_id=session_id)
    if not recent:
        return []
    neighbours = _neighbour_lists(version_id, recent, "similar")
    candidates: list[_Candidate] = []
    for rank, anchor in enumerate(recent):
        similar = neighbours.get(anchor)
        if not similar:
            similar = _same_category_fallback(anchor)
        recency_weight = 1.0 / (1 + rank)  # the latest view counts most
        for candidate in _unpack(similar, ReasonKind.BECAUSE_VIEWED):
            candidates.append(
                _Candidate(candidate.product_id, candidate.score * recency_weight, ReasonKind.BECAUSE_VIEWED, anchor)
            )
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
        Product.objects.filter(category_id=category_id, active=True)
        .exclude(id=product_id)
        .annotate(n=Count("order_lines"))
        .order_by("-n")
        .values_list("id", "n")[:30]
    )
    return {"p": [r[0] for r in rows], "s": [1.0 / (1 + i) for i, _ in enumerate(rows)]}


def _neighbours(
    product_id: int, column: str, kind: ReasonKind, filters: Filters, live: dict[int, LiveState] | None = None
) -> ServedList:
    version_id = _active_version()
    items = _neighbour_lists(version_id, [product_id], column).get(product_id)
    if not items and column == "similar":
        items = _same_category_fallback(product_id)
    candidates = [c._replace(kind=kind, anchor=product_id) for c in _unpack(items or {}, kind)]
    candidates = [c for c in candidates if c.product_id != product_id]
    filters = replace(
        filters,
        exclude_product_ids=filters.exclude_product_ids | {product_id},
        include_purchased=True if filters.include_purchased is None else filters.include_purchased,
    )
    return _finish(
        candidates, filters=filters, customer_id=None, version_id=version_id, surface=column, top_up=False, live=live
    )


# -- the catalog snapshot ----------------------------------------------------------------------------

CATALOG_CHECK_SECONDS = 2.0  # how stale another process's product or category write may look here
CATALOG_MAX_AGE_SECONDS = 300.0  # reloaded at least this often, even if the version key was lost


@dataclass
class CatalogSnapshot:
    """What serving shows about products and categories, but never decides on (names, ids, paths)."""

    token: str | None  # the store's catalog version when loaded
    generation: int  # this process's own catalog writes when loaded
    loaded_at: float
    checked_at: float
    products: dict[int, tuple[str, str]]  # product id -> (external id, name)
    categories: dict[int, tuple[str, str]]  # category id -> (path, name)
    _by_external_id: dict[str, int] | None = None
    _by_path: dict[str, int] | None = None
    _subtrees: dict[int, frozenset[int]] = field(default_factory=dict)

    def product_id_for(self, external_id: str) -> int | None:
        if self._by_external_id is None:
            self._by_external_id = {ext: pid for pid, (ext, _) in self.products.items()}
        return self._by_external_id.get(external_id)

    def category_id_for(self, path: str) -> int | None:
        if self._by_path is None:
            self._by_path = {p: cid for cid, (p, _) in self.categories.items()}
        return self._by_path.get(path)

    def subtree(self, category_id: int) -> frozenset[int]:
        """The category and everything below it."""
        if category_id not in self._subtrees:
            path = self.categories.get(category_id, (None, ""))[0]
            ids: frozenset[int] = frozenset()
            if path is not None:
                below = f"{path} > "
                ids = frozenset(cid for cid, (p, _) in self.categories.items() if p == path or p.startswith(below))
            self._subtrees[category_id] = ids
        return self._subtrees[category_id]

    def product_name(self, product_id: int) -> str:
        if product_id not in self.products:
            self.add_products([product_id])
        return self.products.get(product_id, ("", ""))[1]

    def top_categories(self, limit: int) -> list[tuple[int, str]]:
        """The roots of the category tree as (id, name), by name."""
        roots = sorted((name, cid) for cid, (path, name) in self.categories.items() if " > " not in path)
        return [(cid, name) for name, cid in roots[:limit]]

    def add_products(self, product_ids: Iterable[int]) -> None:
        """Products created since the snapshot was loaded (or written by a process that did not bump)."""
        wanted = [pid for pid in product_ids if pid not in self.products]
        if not wanted:
            return
        rows = Product.objects.filter(id__in=wanted).values_list("id", "external_id", "name", "category_id")
        category_ids = set()
        for pid, external_id, name, category_id in rows:
            self.products[pid] = (external_id, name)
            category_ids.add(category_id)
        self.add_categories(category_ids)
        self._by_external_id = None

    def add_categories(self, category_ids: Iterable[int | None]) -> None:
        wanted = [cid for cid in category_ids if cid is not None and cid not in self.categories]
        if wanted:
            for cid, path, name in Category.objects.filter(id__in=wanted).values_list("id", "path", "name"):
                self.categories[cid] = (path, name)
            self._by_path = None
            self._subtrees.clear()


_catalogs: dict[int, CatalogSnapshot] = {}


def catalog_snapshot() -> CatalogSnapshot:
    """The current store's catalog snapshot, reloaded when its version moved (checked every few seconds)."""
    tenant_id = require_tenant_id()
    now = time.monotonic()
    generation = local_generation(tenant_id)
    snapshot = _catalogs.get(tenant_id)
    token = None
    if (
        snapshot is not None
        and snapshot.generation == generation
        and now - snapshot.loaded_at < CATALOG_MAX_AGE_SECONDS
    ):
        if now - snapshot.checked_at < CATALOG_CHECK_SECONDS:
            return snapshot
        token = catalog_version_token(tenant_id)
        if token == snapshot.token:
            snapshot.checked_at = now
            return snapshot
    else:
        token = catalog_version_token(tenant_id)
    products = {
        pid: (external_id, name)
        for pid, external_id, name in Product.objects.values_list("id", "external_id", "name").iterator(chunk_size=5000)
    }
    categories = {cid: (path, name) for cid, path, name in Category.objects.values_list("id", "path", "name")}
    snapshot = CatalogSnapshot(
        token=token, generation=generation, loaded_at=now, checked_at=now, products=products, categories=categories
    )
    _catalogs[tenant_id] = snapshot
    return snapshot


def category_id_for_path(path: str) -> int | None:
    """A category of the current store by its path (e.g. "Home > Kitchen")."""
    category_id = catalog_snapshot().category_id_for(path)
    if category_id is None:
        category_id = Category.objects.filter(path=path).values_list("id", flat=True).first()
    return category_id


def product_ids_for_external_ids(external_ids: Iterable[str]) -> frozenset[int]:
    """The ids of the current store's products with these external ids (unknown ones are left out)."""
    snapshot = catalog_snapshot()
    found, missing = set(), []
    for external_id in external_ids:
        pid = snapshot.product_id_for(external_id)
        if pid is None:
            missing.append(external_id)
        else:
            found.add(pid)
    if missing:
        found.update(Product.objects.filter(external_id__in=missing).values_list("id", flat=True))
    return frozenset(found)


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


def _fetchall(sql: str, params: Sequence) -> list[tuple]:
    """Plain SQL through Django's connection (tenant applied, row-level security on): for the small
    look-ups of every request, where building an ORM query costs more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _json(value: object) -> object:
    # Django's PostgreSQL backend hands json and jsonb over as text (JSONField decodes it itself).
    return json.loads(value) if isinstance(value, str | bytes) else value


def purchased_product_ids(customer_id: int) -> set[int]:
    return set(OrderLine.objects.filter(order__customer_id=customer_id).values_list("product_id", flat=True))


LiveState = tuple[bool, Decimal, int | None]  # active, price, category id
_GONE: LiveState = (False, Decimal(0), None)  # no such product (any more) in this store


def live_product_state(product_ids: Iterable[int]) -> dict[int, LiveState]:
    """What the business rules decide on, read from the database now (never from a snapshot)."""
    ids = list(product_ids)
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        # Plain SQL: building an ORM query would cost more than the query itself.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, active, price, category_id FROM commerce_product WHERE tenant_id = %s AND id = ANY(%s)",
                [require_tenant_id(), ids],
            )
            rows = cursor.fetchall()
    else:
        rows = Product.objects.filter(id__in=ids).values_list("id", "active", "price", "category_id")
    return {pid: (active, price, category_id) for pid, active, price, category_id in rows}


# For pages already served from a cache (the storefront home), the live state of the whole catalog is
# read at most once a minute per process and per snapshot, rather than per list: one 20,000-row read
# a minute instead of three or four look-ups on every page built. A write through the models,
# the importer or the API's bulk upsert reloads the snapshot and so this too at once.
CATALOG_STATE_SECONDS = 60.0  # bounds only writes that bypass the catalog version (see above)
_catalog_states: dict[int, tuple[float, int, dict[int, LiveState]]] = {}


def catalog_live_states() -> dict[int, LiveState]:
    """The live state of every product of the current store, at most CATALOG_STATE_SECONDS old.

    Pass it as `live=` to the serving functions where seconds-old state is acceptable; never for the API.
    """
    tenant_id = require_tenant_id()
    snapshot = catalog_snapshot()
    now = time.monotonic()
    cached = _catalog_states.get(tenant_id)
    if cached is not None and cached[1] == id(snapshot) and now - cached[0] < CATALOG_STATE_SECONDS:
        return cached[2]
    rows = _fetchall("SELECT id, active, price, category_id FROM commerce_product WHERE tenant_id = %s", [tenant_id])
    states = {pid: (active, price, category_id) for pid, active, price, category_id in rows}
    _catalog_states[tenant_id] = (now, id(snapshot), states)
    return states


def _finish(
    candidates: Iterable[_Candidate],
    *,
    filters: Filters,
    customer_id: int | None,
    version_id: int | None,
    surface: str,
    top_up: bool = True,
    keep_unavailable: bool = False,
    purchased: set[int] | None = None,
    live: dict[int, LiveState] | None = None,
) -> ServedList:
    """Apply the business rules to the candidates in order, topping up from popularity if they run short.

    `purchased` may come with the caller's own query, and `live` holds product states already read
    in this request (it is filled in here, so several lists of one page read each product once).
    """
    k = max(1, min(int(filters.k), MAX_K))
    include_purchased = filters.include_purchased
    if include_purchased is None:
        include_purchased = not _tenant_setting("exclude_purchased")
    max_per_category = filters.max_per_category
    if max_per_category is None:
        max_per_category = _tenant_setting("max_per_category")
    excluded = set(filters.exclude_product_ids)
    if customer_id is not None and not include_purchased:
        excluded |= purchased if purchased is not None else purchased_product_ids(customer_id)
    catalog = catalog_snapshot()
    allowed_categories = catalog.subtree(filters.category_id) if filters.category_id else None
    live = live if live is not None else {}
    candidates = list(candidates)
    popular: list[_Candidate] | None = None

    def select(avoid: frozenset[int]) -> list[tuple[_Candidate, LiveState]]:
        nonlocal popular
        seen: set[int] = set()
        per_category: dict[int | None, int] = {}
        chosen: list[tuple[_Candidate, LiveState]] = []

        def take(source: list[_Candidate]) -> None:
            ordered = []
            for candidate in source:
                if candidate.product_id not in seen:
                    seen.add(candidate.product_id)
                    if candidate.product_id not in excluded and candidate.product_id not in avoid:
                        ordered.append(candidate)
            missing = [c.product_id for c in ordered if c.product_id not in live]
            if missing:
                live.update(live_product_state(missing))
                live.update((pid, _GONE) for pid in missing if pid not in live)
            for candidate in ordered:
                state = live[candidate.product_id]
                if state is _GONE:
                    continue
                active, price, category_id = state
                if not active and not keep_unavailable:
                    continue
                if allowed_categories is not None and category_id not in allowed_categories:
                    continue
                if filters.min_price is not None and price < filters.min_price:
                    continue
                if filters.max_price is not None and price > filters.max_price:
                    continue
                if max_per_category:
                    count = per_category.get(category_id, 0)
                    if count >= max_per_category:
                        continue
                    per_category[category_id] = count + 1
                chosen.append((candidate, state))
                if len(chosen) >= k:
                    return

        take(candidates)
        if top_up and len(chosen) < k:
            # Never a short list: popular items follow, under the same rules (and the same diversity cap).
            if popular is None:
                popular = _ranked(version_id, "popular")
            take(popular)
        return chosen

    chosen = select(filters.avoid_product_ids)
    if filters.avoid_product_ids and len(chosen) < min(k, filters.min_when_avoiding):
        chosen = select(frozenset())  # so little is left that repeating some beats a near-empty list
    catalog.add_products({c.product_id for c, _ in chosen} | {c.anchor for c, _ in chosen if c.anchor})
    catalog.add_categories({state[2] for _, state in chosen})
    items = [_served(candidate, state, catalog) for candidate, state in chosen]
    return ServedList(new_recommendation_id(version_id), version_id, surface, items)


def _served(candidate: _Candidate, state: LiveState, catalog: CatalogSnapshot) -> ServedItem:
    _active, price, category_id = state
    external_id, name = catalog.products.get(candidate.product_id, ("", ""))
    category_path, category_name = catalog.categories.get(category_id, ("", "")) if category_id else ("", "")
    if candidate.kind == UNRANKED:
        reason, kind_value = "", UNRANKED
    else:
        known = candidate.kind in ReasonKind._value2member_map_
        kind = ReasonKind(candidate.kind) if known else ReasonKind.PERSONALIZED
        category = candidate.category if candidate.category is not None else category_id
        reason = render_reason(
            Reason(kind, candidate.anchor, category),
            lambda pid: catalog.products.get(pid, ("", ""))[1],
            lambda cid: category_name if cid == category_id else "",
        )
        kind_value = kind.value
    return ServedItem(
        product_id=candidate.product_id,
        external_id=external_id,
        name=name,
        price=price,
        category_id=category_id,
        category_path=category_path,
        score=candidate.score,
        reason=reason,
        reason_kind=kind_value,
        anchor_product_id=candidate.anchor,
    )
