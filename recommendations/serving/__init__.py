"""Serving: what a shopper or partner is shown, from the active version's precomputed lists.

Serving is a look-up plus light re-ranking: read the precomputed list (`candidates`), apply the business rules
(`rules`: available, not already bought, not excluded, category and price filters, per-category cap, MMR
diversity), render each reason in words, and top up from popularity when a list runs short (`lists`). With no
trained model, popular items are served. Real-time signals (views and add-to-cart since the last retrain) drive
"because you viewed" without waiting for a retrain.

What each request reads, and why it is cheap:
- a version's non-personal lists (popular, trending, item neighbours) never change once the version is trained,
  so each process keeps them in memory, keyed by the version;
- names, external ids and the category tree come from the per-process catalog snapshot
  (retailsite/commerce/catalog_snapshot.py), reloaded when the store's catalog version moves;
- whether a product may be shown, its price and its category are always read live (retailsite/commerce/
  live_state.py), so a product withdrawn or sold out a moment ago is never served, however it was changed;
- what several lists of one request share is read once, into the request's memo (`memo`); the hot pages and API
  calls read all of it up front in one prepared round trip (`page_inputs`).

The public surface is below; everything else is internal to the package.
"""

from .candidates import MAX_K, purchased_product_ids
from .lists import (
    UNRANKED,
    Filters,
    ServedItem,
    ServedList,
    because_viewed,
    bought_together,
    new_recommendation_id,
    popular_with_followed,
    recommend_for_customer,
    rerank,
    similar_items,
    trending,
    version_of_recommendation_id,
)
from .memo import RequestMemo, serving_request
from .page_inputs import (
    CustomersServed,
    RerankServed,
    ShopperPageInputs,
    active_product_with_neighbours,
    bought_together_external_id,
    recommend_for_customer_external_id,
    recommend_for_customers_external_ids,
    rerank_external_ids,
    shopper_page_inputs,
    shopper_recent_inputs,
    similar_items_external_id,
)

__all__ = [
    "MAX_K",
    "UNRANKED",
    "CustomersServed",
    "Filters",
    "RequestMemo",
    "RerankServed",
    "ServedItem",
    "ServedList",
    "ShopperPageInputs",
    "active_product_with_neighbours",
    "because_viewed",
    "bought_together",
    "bought_together_external_id",
    "new_recommendation_id",
    "popular_with_followed",
    "purchased_product_ids",
    "recommend_for_customer",
    "recommend_for_customer_external_id",
    "recommend_for_customers_external_ids",
    "rerank",
    "rerank_external_ids",
    "serving_request",
    "shopper_page_inputs",
    "shopper_recent_inputs",
    "similar_items",
    "similar_items_external_id",
    "trending",
    "version_of_recommendation_id",
]
