"""What a page or an API call needs, read in one prepared round trip and put into the request's memo.

Each statement reads what the separate look-ups of `candidates` would read — the shopper's purchases, recent
products, precomputed list and followed-bought rows, the neighbour lists those start from, and the live state of
the listed products — so the lists built next (`lists.py`, the same functions and rules as always) read nothing
more. Prepared (see `retailsite.sql.fetchone_prepared`), PostgreSQL plans each statement once per connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import Field
from django.utils import timezone

from recommendations.arms import experiment_batch
from recommendations.engine.reasons import ReasonKind
from recommendations.stored_lists import Candidate, StoredList, unpack_list
from retailsite.commerce.live_state import live_states_from_json, product_state_json
from retailsite.commerce.models import Product
from retailsite.sql import fetchone_prepared, json_value

from .candidates import (
    FOLLOWED_WINDOW,
    MAX_K,
    NEIGHBOUR_COLUMNS,
    RECENT_LIMIT,
    recent_events_params,
    recent_events_sql,
    remember_neighbours,
)
from .lists import Filters, ServedList, bought_together, recommend_for_customer, rerank, similar_items
from .memo import serving_request
from .rules import first_chunk

_ANY = Filters()  # the default filters (the store's settings decide)


# -- a shopper's recent products ---------------------------------------------------------------------------------

# The shopper's latest events (`recent_events_sql`) and their RECENT_LIMIT latest distinct products, as the CTEs
# `events` and `recent` of a statement; then the array of the events' products (newest first, what
# `candidates.read_recent_product_ids` makes distinct) and those products' `similar` lists, for its select list.
_RECENT_CTES = """events AS (
  {events}
), recent AS (
  SELECT product_id FROM events GROUP BY product_id ORDER BY max(occurred_at) DESC LIMIT %(recent_limit)s
)"""
_RECENT_EVENTS_ARRAY = "ARRAY(SELECT product_id FROM events ORDER BY occurred_at DESC, id DESC)"
_RECENT_SIMILAR = """(SELECT json_agg(json_build_array(r.product_id, n."similar"))
     FROM recent r LEFT JOIN recommendations_productneighbours n
       ON n.tenant_id = %(tenant)s AND n.model_version_id = %(version)s AND n.product_id = r.product_id)"""


def _remember_similar(version_id: int | None, rows: object) -> None:
    """Keep the `similar` lists a statement read with `_RECENT_SIMILAR`, as `neighbour_lists` keeps them."""
    if version_id is not None:
        for pid, similar in json_value(rows) or ():
            remember_neighbours(version_id, "similar", pid, json_value(similar) or {})  # type: ignore[arg-type]


def _recent_ids(events: object) -> list[int]:
    return list(dict.fromkeys(events or ()))[:RECENT_LIMIT]  # type: ignore[call-overload]


_SHOPPER_RECENT_SQL = f"""
WITH {_RECENT_CTES}
SELECT {_RECENT_EVENTS_ARRAY}, {_RECENT_SIMILAR}
"""
_SHOPPER_RECENT_SQL_BY_WHO = {
    (customer, session): _SHOPPER_RECENT_SQL.format(
        events=recent_events_sql(customer="%(customer)s" if customer else None, session=session)
    )
    for customer in (False, True)
    for session in (False, True)
    if customer or session
}


def shopper_recent_inputs(*, customer_id: int | None, session_id: str) -> list[int]:
    """The shopper's recent products (`candidates.recent`) with their `similar` lists — what "because you viewed"
    reads — in one prepared round trip, put into the request's memo."""
    with serving_request() as memo:
        key = (customer_id, session_id)
        if key in memo.recent:
            return memo.recent[key]
        if customer_id is None and not session_id:
            memo.recent[key] = []
            return []
        params: dict[str, object] = {
            **recent_events_params(),
            "version": memo.version_id,
            "recent_limit": RECENT_LIMIT,
        }
        if customer_id is not None:
            params["customer"] = customer_id
        if session_id:
            params["session"] = session_id
        row = fetchone_prepared(_SHOPPER_RECENT_SQL_BY_WHO[(customer_id is not None, bool(session_id))], params)
        events, recent_similar = row if row is not None else (None, None)
        _remember_similar(memo.version_id, recent_similar)
        memo.recent[key] = _recent_ids(events)
        return memo.recent[key]


# -- a signed-in shopper's storefront page -----------------------------------------------------------------------


@dataclass(frozen=True)
class ShopperPageInputs:
    """What a signed-in shopper's personal sections are built from (also in the request's memo)."""

    purchased_latest_first: list[int]  # distinct, the most recent purchase first
    recent: list[int]  # `candidates.read_recent_product_ids`
    precomputed: list[Candidate] | None  # their list under `version_id` (None: no active version)
    followed: list[tuple[int, float]]  # (product id, buyers) of `popular_with_followed`
    version_id: int | None


# The same look-ups as purchases (latest first), read_recent_product_ids, precomputed_for_customer and
# followed_bought, plus the neighbour lists "because you viewed / bought" start from (the recent products'
# `similar`, the latest purchase's `bought_together` and `similar`): a shopper's first visit pays one round
# trip (and one plan, prepared) rather than six.
_SHOPPER_PAGE_SQL = """
WITH bought AS (
  SELECT l.product_id, o.ordered_at, l.id
    FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id
   WHERE l.tenant_id = %(tenant)s AND o.tenant_id = %(tenant)s AND o.customer_id = %(customer)s
), {recent_ctes}, latest_bought AS (
  SELECT product_id FROM bought ORDER BY ordered_at DESC, id DESC LIMIT 1
)
SELECT
  ARRAY(SELECT product_id FROM bought ORDER BY ordered_at DESC, id DESC),
  {recent_events},
  (SELECT items FROM recommendations_customerrecommendations
    WHERE tenant_id = %(tenant)s AND model_version_id = %(version)s AND customer_id = %(customer)s),
  (SELECT json_agg(json_build_array(f.product_id, f.buyers) ORDER BY f.buyers DESC, f.product_id)
     FROM (SELECT l.product_id, COUNT(DISTINCT o.customer_id) AS buyers
             FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id
            WHERE l.tenant_id = %(tenant)s AND o.tenant_id = %(tenant)s AND o.ordered_at >= %(followed_since)s
              AND o.customer_id IN (SELECT followee_id FROM commerce_follow
                                     WHERE tenant_id = %(tenant)s AND follower_id = %(customer)s LIMIT 500)
            GROUP BY l.product_id ORDER BY buyers DESC, l.product_id LIMIT 60) f),
  {recent_similar},
  (SELECT json_build_array(b.product_id, n.bought_together, n."similar")
     FROM latest_bought b LEFT JOIN recommendations_productneighbours n
       ON n.tenant_id = %(tenant)s AND n.model_version_id = %(version)s AND n.product_id = b.product_id)
"""
_SHOPPER_PAGE_SQL_BY_SESSION = {
    session: _SHOPPER_PAGE_SQL.format(
        recent_ctes=_RECENT_CTES.format(events=recent_events_sql(customer="%(customer)s", session=session)),
        recent_events=_RECENT_EVENTS_ARRAY,
        recent_similar=_RECENT_SIMILAR,
    )
    for session in (False, True)
}


def shopper_page_inputs(*, customer_id: int, session_id: str) -> ShopperPageInputs:
    """A consenting signed-in shopper's purchases, recent products, precomputed list and followed-bought rows,
    put into the request's memo (so the sections built in the same `serving_request` block read none of it again)
    and returned."""
    with serving_request() as memo:
        version_id = memo.version_id
        now = timezone.now()
        params: dict[str, object] = {
            **recent_events_params(),
            "tenant": memo.tenant_id,
            "customer": customer_id,
            "version": version_id,
            "recent_limit": RECENT_LIMIT,
            "followed_since": now - FOLLOWED_WINDOW,
        }
        if session_id:
            params["session"] = session_id
        row = fetchone_prepared(_SHOPPER_PAGE_SQL_BY_SESSION[bool(session_id)], params)
        purchased, recent, items, followed, recent_similar, bought = (
            row if row is not None else ([], [], None, None, None, None)
        )
        _remember_similar(version_id, recent_similar)
        if version_id is not None and bought:
            pid, together, similar = json_value(bought)
            remember_neighbours(version_id, "bought_together", pid, json_value(together) or {})  # type: ignore[arg-type]
            remember_neighbours(version_id, "similar", pid, json_value(similar) or {})  # type: ignore[arg-type]
        inputs = ShopperPageInputs(
            purchased_latest_first=list(dict.fromkeys(purchased or ())),
            recent=_recent_ids(recent),
            precomputed=unpack_list(json_value(items), ReasonKind.PERSONALIZED) if version_id is not None else None,
            followed=[(int(pid), float(buyers)) for pid, buyers in (json_value(followed) or ())],
            version_id=version_id,
        )
        memo.purchased[customer_id] = set(inputs.purchased_latest_first)
        memo.recent[(customer_id, session_id)] = inputs.recent
        memo.followed[customer_id] = inputs.followed
        if inputs.precomputed is not None:
            memo.precomputed[customer_id] = inputs.precomputed
        return inputs


# -- a product page ----------------------------------------------------------------------------------------------

# What a product page shows of the product, and the two neighbour lists its shelves start from.
PRODUCT_PAGE_FIELDS = frozenset(
    {"id", "tenant_id", "external_id", "name", "description", "category_id", "brand", "tags", "price", "active"}
)
_PRODUCT_PAGE_SQL = """
SELECT {columns}, n."similar", n.bought_together
  FROM commerce_product p
  LEFT JOIN recommendations_productneighbours n
         ON n.tenant_id = %(tenant)s AND n.model_version_id = %(version)s AND n.product_id = p.id
 WHERE p.tenant_id = %(tenant)s AND p.id = %(product)s AND p.active
"""


@cache
def _product_page_fields() -> tuple[Field, ...]:
    return tuple(field for field in Product._meta.concrete_fields if field.attname in PRODUCT_PAGE_FIELDS)


@cache
def _product_page_sql() -> str:
    return _PRODUCT_PAGE_SQL.format(columns=", ".join(f'p."{field.column}"' for field in _product_page_fields()))


def active_product_with_neighbours(*, product_id: int) -> Product | None:
    """The store's active product with this id (the fields a product page shows; the others load on access), its
    `similar` and `bought_together` lists of the request's version kept as `neighbour_lists` keeps them — one
    prepared round trip; None if the store has no such active product."""
    with serving_request() as memo:
        version_id = memo.version_id
        row = fetchone_prepared(
            _product_page_sql(), {"tenant": memo.tenant_id, "version": version_id, "product": product_id}
        )
        if row is None:
            return None
        fields = _product_page_fields()
        *values, similar, together = row
        if version_id is not None:
            remember_neighbours(version_id, "similar", product_id, json_value(similar) or {})  # type: ignore[arg-type]
            remember_neighbours(version_id, "bought_together", product_id, json_value(together) or {})  # type: ignore[arg-type]
        # What the ORM's compiler does with a row: each field's database converter, then the model.
        values = [
            field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
            for field, value in zip(fields, values, strict=True)
        ]
        return Product.from_db(connection.alias, [field.attname for field in fields], values)


# -- the partner API ---------------------------------------------------------------------------------------------

# A customer (by external id) and their consent, their precomputed list, what they bought (also since the list
# was trained) and the live state of the first products of the list that the rules look at first (`first_chunk`:
# the rules read more only when too few of those are kept), looked up by primary key: `= ANY(ARRAY(...))`, where
# `IN (SELECT ...)` of a few hundred ids let the planner scan the whole catalog.
#
# One customer is asked for by a scalar parameter, several by an array: PostgreSQL estimates an array parameter at
# ten elements, so with one statement for both its generic plan looked ten times dearer than a one-customer
# custom plan and it planned every execution anew (planning it costs the server more than running it). Each shape
# now keeps its own cached generic plan.
_CUSTOMERS_SQL = """
WITH wanted AS (
  SELECT c.id, c.external_id, c.personalization_consent AS consent, r.items
    FROM commerce_customer c
    LEFT JOIN recommendations_customerrecommendations r
           ON r.tenant_id = %(tenant)s AND r.model_version_id = %(version)s AND r.customer_id = c.id
              AND c.personalization_consent
   WHERE c.tenant_id = %(tenant)s AND {customers}
)
SELECT
  (SELECT json_agg(json_build_array(w.external_id, w.id, w.consent, w.items,
          ARRAY(SELECT DISTINCT l.product_id
                  FROM commerce_order o JOIN commerce_orderline l ON l.order_id = o.id
                 WHERE o.tenant_id = %(tenant)s AND l.tenant_id = %(tenant)s AND o.customer_id = w.id AND w.consent)))
     FROM wanted w),
  (SELECT json_agg({state})
     FROM commerce_product p
    WHERE p.tenant_id = %(tenant)s
      AND p.id = ANY(ARRAY(SELECT e.pid::bigint FROM wanted w,
                                  jsonb_array_elements_text(w.items -> 'p') WITH ORDINALITY AS e(pid, n)
                            WHERE e.n <= %(first)s)))
"""

# A product (by external id), its neighbour list of the version and the live state of the list's products.
_PRODUCT_LIST_SQL = """
SELECT p.id, n.items,
       (SELECT json_agg({state})
          FROM commerce_product q
         WHERE q.tenant_id = %(tenant)s
           AND q.id = ANY(ARRAY(SELECT jsonb_array_elements_text(n.items -> 'p')::bigint)))
  FROM commerce_product p
  LEFT JOIN LATERAL (SELECT "{column}" AS items FROM recommendations_productneighbours
                      WHERE tenant_id = %(tenant)s AND model_version_id = %(version)s AND product_id = p.id) n ON true
 WHERE p.tenant_id = %(tenant)s AND p.external_id = %(external_id)s
"""


# Built on first use: the product state's SQL includes the conditions apps register in `ready()`.
@cache
def _customers_sql(*, several: bool) -> str:
    customers = "c.external_id = ANY(%(external_ids)s)" if several else "c.external_id = %(external_ids)s"
    return _CUSTOMERS_SQL.format(state=product_state_json("p"), customers=customers)


@cache
def _product_list_sql(column: str) -> str:
    assert column in NEIGHBOUR_COLUMNS
    return _PRODUCT_LIST_SQL.format(state=product_state_json("q"), column=column)


def _storable(external_id: str) -> bool:
    return "\x00" not in external_id  # PostgreSQL text cannot hold NUL: no such id anywhere


@dataclass
class CustomersServed:
    served: list[tuple[str, ServedList]]  # (external id, list), in the order asked, each id once
    unknown: list[str]  # external ids the store does not have (then nothing is served)


def recommend_for_customers_external_ids(*, external_ids: Sequence[str], filters: Filters = _ANY) -> CustomersServed:
    """ "Recommended for you" for each customer with these external ids; without personalization consent a
    customer gets non-personalized results. One round trip reads every customer's inputs."""
    wanted = list(dict.fromkeys(external_ids))
    with serving_request() as memo:
        storable = [external_id for external_id in wanted if _storable(external_id)]
        several = len(storable) != 1
        row = fetchone_prepared(
            _customers_sql(several=several),
            {
                "tenant": memo.tenant_id,
                "version": memo.version_id,
                "external_ids": storable if several else storable[0],
                "first": first_chunk(max(1, min(int(filters.k), MAX_K))),
            },
        )
        customers, states = (json_value(row[0]) or [], json_value(row[1])) if row is not None else ([], None)
        memo.live.update(live_states_from_json(states))
        found: dict[str, tuple[int, bool]] = {}
        for external_id, customer_id, consent, items, purchased in customers:
            found[external_id] = (customer_id, consent)
            if consent:
                memo.purchased[customer_id] = set(purchased or ())
                if memo.version_id is not None:
                    memo.precomputed[customer_id] = unpack_list(items, ReasonKind.PERSONALIZED)
        unknown = [external_id for external_id in wanted if external_id not in found]
        if unknown:
            return CustomersServed(served=[], unknown=unknown)
        with experiment_batch():
            served = [
                (
                    external_id,
                    recommend_for_customer(
                        customer_id=found[external_id][0], filters=filters, personalized=found[external_id][1]
                    ),
                )
                for external_id in wanted
            ]
        return CustomersServed(served=served, unknown=[])


def recommend_for_customer_external_id(*, external_id: str, filters: Filters = _ANY) -> ServedList | None:
    """ "Recommended for you" for the customer with this external id; None if the store has no such customer."""
    result = recommend_for_customers_external_ids(external_ids=[external_id], filters=filters)
    return result.served[0][1] if result.served else None


def _product_list_external_id(column: str, external_id: str, filters: Filters) -> ServedList | None:
    if not _storable(external_id):
        return None
    with serving_request() as memo:
        version_id = memo.version_id
        row = fetchone_prepared(
            _product_list_sql(column),
            {"tenant": memo.tenant_id, "version": version_id, "external_id": external_id},
        )
        if row is None:
            return None
        product_id, items, states = row
        if version_id is not None:
            stored: StoredList = json_value(items) or {}  # type: ignore[assignment]
            remember_neighbours(version_id, column, product_id, stored)
        memo.live.update(live_states_from_json(json_value(states)))
        serve = similar_items if column == "similar" else bought_together
        return serve(product_id=product_id, filters=filters)


def similar_items_external_id(*, external_id: str, filters: Filters = _ANY) -> ServedList | None:
    """Items similar to the product with this external id; None if the store has no such product."""
    return _product_list_external_id("similar", external_id, filters)


def bought_together_external_id(*, external_id: str, filters: Filters = _ANY) -> ServedList | None:
    """Items frequently bought with the product with this external id; None if the store has no such product."""
    return _product_list_external_id("bought_together", external_id, filters)


# The caller's products (by external id) with their live state, the customer (by external id) and their consent,
# their precomputed list, and the recent products of the customer (if consenting) or the session with those
# products' `similar` lists: what `rerank` reads.
_RERANK_SQL = """
WITH who AS (
  SELECT c.id FROM commerce_customer c
   WHERE c.tenant_id = %(tenant)s AND c.external_id = %(customer)s AND c.personalization_consent
), {recent_ctes}
SELECT
  (SELECT json_build_array(c.id, c.personalization_consent) FROM commerce_customer c
    WHERE c.tenant_id = %(tenant)s AND c.external_id = %(customer)s),
  (SELECT json_agg(json_build_array(p.external_id, {state})) FROM commerce_product p
    WHERE p.tenant_id = %(tenant)s AND p.external_id = ANY(%(products)s)),
  (SELECT r.items FROM recommendations_customerrecommendations r JOIN who w ON r.customer_id = w.id
    WHERE r.tenant_id = %(tenant)s AND r.model_version_id = %(version)s),
  {recent_events},
  {recent_similar}
"""
_RERANK_WHO: dict[str, tuple[str | None, bool]] = {  # (the customer's id as SQL, by session)
    "customer": ("(SELECT id FROM who)", False),
    "session": (None, True),
    "nobody": (None, False),
}


@cache
def _rerank_sql(who: str) -> str:
    customer, session = _RERANK_WHO[who]
    return _RERANK_SQL.format(
        recent_ctes=_RECENT_CTES.format(events=recent_events_sql(customer=customer, session=session)),
        recent_events=_RECENT_EVENTS_ARRAY,
        recent_similar=_RECENT_SIMILAR,
        state=product_state_json("p"),
    )


@dataclass
class RerankServed:
    served: ServedList | None  # None when a customer or product was not found
    unknown_customer: bool = False
    unknown_products: list[str] | None = None  # external ids the store does not have


def rerank_external_ids(
    *, product_external_ids: Sequence[str], customer_external_id: str | None = None, session_id: str = ""
) -> RerankServed:
    """`rerank` of the caller's products (external ids) for a customer (external id; without personalization
    consent: popularity only) or else a session, its inputs read in one round trip."""
    wanted = list(dict.fromkeys(product_external_ids))
    customer = customer_external_id if customer_external_id and _storable(customer_external_id) else ""
    if customer_external_id and not customer:
        return RerankServed(served=None, unknown_customer=True)
    who = "customer" if customer else "session" if session_id else "nobody"
    with serving_request() as memo:
        params: dict[str, object] = {
            **recent_events_params(),
            "tenant": memo.tenant_id,
            "version": memo.version_id,
            "customer": customer,
            "products": [external_id for external_id in wanted if _storable(external_id)],
            "recent_limit": RECENT_LIMIT,
        }
        if who == "session":
            params["session"] = session_id
        row = fetchone_prepared(_rerank_sql(who), params)
        found_customer, products, items, events, recent_similar = row if row is not None else (None,) * 5
        found_customer = json_value(found_customer)
        if customer and found_customer is None:
            return RerankServed(served=None, unknown_customer=True)
        ids: dict[str, int] = {}
        for external_id, state in json_value(products) or ():
            ids[external_id] = state[0]
            memo.live.update(live_states_from_json([state]))
        unknown = [external_id for external_id in wanted if external_id not in ids]
        if unknown:
            return RerankServed(served=None, unknown_products=unknown)
        customer_id, consent = found_customer if found_customer is not None else (None, False)
        personal_id = customer_id if consent else None
        recent_session = "" if customer else session_id
        memo.recent[(personal_id, recent_session)] = _recent_ids(events)
        if personal_id is not None and memo.version_id is not None:
            memo.precomputed[personal_id] = unpack_list(json_value(items), ReasonKind.PERSONALIZED)
        _remember_similar(memo.version_id, recent_similar)
        served = rerank(
            customer_id=personal_id, product_ids=[ids[external_id] for external_id in wanted], session_id=recent_session
        )
        return RerankServed(served=served)
