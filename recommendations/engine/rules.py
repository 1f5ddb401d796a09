"""Serve-time business rules applied to a ranked candidate list (e.g. a customer's precomputed top-50).

Filters: only available items (active and in stock), exclude already-purchased (switchable), exclude given
ids, allowed categories (pass the whole subtree's ids for a parent category), price range. Diversity: at most
N items per category, and/or MMR re-ranking (Carbonell & Goldstein 1998) that trades relevance for novelty
against the items already picked: lambda * relevance - (1 - lambda) * max similarity to picked items.

`allowed_item_mask` turns the item-level filters into one boolean mask for bulk top-N; `apply_business_rules`
does everything on one list and returns the positions kept, so scores and reasons can follow the items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CatalogState:
    """The catalog as it is now: availability (active and in stock), category and price per item."""

    available: np.ndarray
    categories: np.ndarray | None = None
    prices: np.ndarray | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "available", np.asarray(self.available, dtype=bool))
        if self.categories is not None:
            object.__setattr__(self, "categories", np.asarray(self.categories, dtype=np.int64))
        if self.prices is not None:
            object.__setattr__(self, "prices", np.asarray(self.prices, dtype=np.float64))


@dataclass(frozen=True)
class BusinessRules:
    only_available: bool = True
    exclude_purchased: bool = True
    exclude_items: frozenset[int] = frozenset()
    categories: frozenset[int] | None = None  # allowed categories; None = all
    min_price: float | None = None
    max_price: float | None = None
    max_per_category: int | None = None
    mmr_lambda: float | None = None  # 1 = pure relevance, 0 = pure diversity; None = no MMR


def allowed_item_mask(rules: BusinessRules, catalog: CatalogState) -> np.ndarray:
    """Boolean mask over all items of the rules that do not depend on the customer."""
    mask = catalog.available.copy() if rules.only_available else np.ones(len(catalog.available), dtype=bool)
    if rules.exclude_items:
        excluded = np.fromiter((i for i in rules.exclude_items if 0 <= i < len(mask)), dtype=np.int64)
        mask[excluded] = False
    if rules.categories is not None:
        if catalog.categories is None:
            raise ValueError("a category filter needs CatalogState.categories")
        mask &= np.isin(catalog.categories, np.fromiter(rules.categories, dtype=np.int64))
    if rules.min_price is not None or rules.max_price is not None:
        if catalog.prices is None:
            raise ValueError("a price filter needs CatalogState.prices")
        if rules.min_price is not None:
            mask &= catalog.prices >= rules.min_price
        if rules.max_price is not None:
            mask &= catalog.prices <= rules.max_price
    return mask


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def mmr_select(
    relevance: np.ndarray,
    n: int,
    *,
    mmr_lambda: float,
    item_vectors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    max_per_category: int | None = None,
) -> np.ndarray:
    """Greedy MMR over candidates; returns chosen candidate positions in pick order.

    Similarity between candidates is the cosine of `item_vectors` if given, else 1 for the same category.
    Relevance is min-max scaled to [0, 1] first so lambda means the same for any model.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    n_candidates = len(relevance)
    span = relevance.max() - relevance.min() if n_candidates else 0.0
    scaled = (relevance - relevance.min()) / span if span > 0 else np.ones(n_candidates)
    if item_vectors is not None:
        unit = _unit_rows(item_vectors)
        similarity = unit @ unit.T
    elif categories is not None:
        similarity = (categories[:, None] == categories[None, :]) & (categories[:, None] >= 0)
        similarity = similarity.astype(np.float64)
    else:
        similarity = np.zeros((n_candidates, n_candidates))
    chosen: list[int] = []
    max_sim = np.zeros(n_candidates)
    available = np.ones(n_candidates, dtype=bool)
    per_category: dict[int, int] = {}
    while len(chosen) < n and available.any():
        value = mmr_lambda * scaled - (1.0 - mmr_lambda) * max_sim
        value[~available] = -np.inf
        pick = int(np.argmax(value))
        available[pick] = False
        if max_per_category is not None and categories is not None and categories[pick] >= 0:
            category = int(categories[pick])
            if per_category.get(category, 0) >= max_per_category:
                continue
            per_category[category] = per_category.get(category, 0) + 1
        chosen.append(pick)
        max_sim = np.maximum(max_sim, similarity[pick])
    return np.asarray(chosen, dtype=np.int64)


def cap_per_category(categories: np.ndarray, n: int, max_per_category: int) -> np.ndarray:
    """Positions of the first n candidates (in rank order) keeping at most `max_per_category` per category."""
    counts: dict[int, int] = {}
    kept: list[int] = []
    for position, category in enumerate(np.asarray(categories).tolist()):
        if category >= 0:
            if counts.get(category, 0) >= max_per_category:
                continue
            counts[category] = counts.get(category, 0) + 1
        kept.append(position)
        if len(kept) == n:
            break
    return np.asarray(kept, dtype=np.int64)


def apply_business_rules(
    items: np.ndarray,
    scores: np.ndarray,
    *,
    rules: BusinessRules,
    catalog: CatalogState,
    n: int,
    purchased_items: Iterable[int] = (),
    item_vectors: np.ndarray | None = None,
) -> np.ndarray:
    """Positions (into `items`) of the final list after filters and diversity, best first, at most n.

    `items`/`scores` is a candidate list sorted best first (-1 entries are padding and dropped);
    `purchased_items` the customer's purchases (used when `rules.exclude_purchased`); `item_vectors`
    (n_items x d) optionally gives MMR a content similarity instead of the category one.
    """
    items = np.asarray(items, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    keep = items >= 0
    valid_items = np.where(keep, items, 0)
    keep &= allowed_item_mask(rules, catalog)[valid_items]
    if rules.exclude_purchased:
        purchased = np.fromiter(purchased_items, dtype=np.int64)
        if len(purchased):
            keep &= ~np.isin(items, purchased)
    positions = np.flatnonzero(keep)
    # keep rank order stable whatever the input order of equal scores
    positions = positions[np.argsort(-scores[positions], kind="stable")]
    categories = None if catalog.categories is None else catalog.categories[items[positions]]
    if rules.mmr_lambda is not None:
        vectors = None if item_vectors is None else item_vectors[items[positions]]
        chosen = mmr_select(
            scores[positions],
            n,
            mmr_lambda=rules.mmr_lambda,
            item_vectors=vectors,
            categories=categories,
            max_per_category=rules.max_per_category,
        )
        return positions[chosen]
    if rules.max_per_category is not None:
        if categories is None:
            raise ValueError("max_per_category needs CatalogState.categories")
        return positions[cap_per_category(categories, n, rules.max_per_category)]
    return positions[:n]
