"""Frequently bought together: association rules between items of the same order.

From baskets (orders -> sets of items) with B baskets, c_i baskets holding i and c_ij holding both:
    support(i, j) = c_ij / B,  confidence(i -> j) = c_ij / c_i,  lift(i, j) = c_ij * B / (c_i * c_j).
Pairs below `min_pair_count` baskets or `min_support` are dropped; the kept links are ranked by lift (default)
or confidence, never by the raw count c_ij, which would just rediscover the best sellers. Only pairs with
lift > 1 (bought together more often than chance) are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import Recommender, ScoreParts, SparseScores
from recommendations.engine.data import EVENT_PURCHASE, SECONDS_PER_DAY, EventLog, TrainingData
from recommendations.engine.history import SparseLookup, UserHistory
from recommendations.engine.reasons import ReasonArrays, ReasonKind
from recommendations.engine.sequential import recent_profile
from recommendations.engine.similarity import neighbours_of, prune_rows


def basket_matrix(log: EventLog) -> sp.csr_matrix:
    """Baskets x items (binary) from purchase events; without basket ids a basket is a customer's day."""
    purchases = log.event_types == EVENT_PURCHASE
    if log.baskets is not None and (log.baskets[purchases] >= 0).any():
        purchases &= log.baskets >= 0
        keys = log.baskets[purchases]
    else:
        day = np.floor(log.timestamps[purchases] / SECONDS_PER_DAY).astype(np.int64)
        keys = log.users[purchases].astype(np.int64) * 1_000_000 + day
    _, basket_index = np.unique(keys, return_inverse=True)
    n_baskets = int(basket_index.max()) + 1 if len(basket_index) else 0
    matrix = sp.csr_matrix(
        (np.ones(len(basket_index), dtype=np.float32), (basket_index, log.items[purchases])),
        shape=(n_baskets, log.n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


class FrequentlyBoughtTogetherRecommender(Recommender):
    """Association rules within orders; scores a customer from their latest purchases."""

    name = "fbt"

    def __init__(
        self,
        metric: Literal["lift", "confidence"] = "lift",
        min_pair_count: int = 2,
        min_support: float = 0.0,
        n_neighbors: int = 50,
        recent_items: int = 10,
    ) -> None:
        self.metric = metric
        self.min_pair_count = min_pair_count
        self.min_support = min_support
        self.n_neighbors = n_neighbors
        self.recent_items = recent_items

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        baskets = basket_matrix(data.events)
        self.n_baskets_ = baskets.shape[0]
        item_baskets = np.asarray(baskets.sum(axis=0)).ravel().astype(np.float64)
        pair_counts = sp.csr_matrix(baskets.T @ baskets).tocoo()
        off_diagonal = pair_counts.row != pair_counts.col
        threshold = max(self.min_pair_count, self.min_support * self.n_baskets_)
        keep = off_diagonal & (pair_counts.data >= threshold)
        rows, cols, together = pair_counts.row[keep], pair_counts.col[keep], pair_counts.data[keep].astype(np.float64)
        lift = together * self.n_baskets_ / (item_baskets[rows] * item_baskets[cols])
        strength = lift if self.metric == "lift" else together / item_baskets[rows]
        positive = lift > 1.0
        association = sp.csr_matrix(
            (strength[positive].astype(np.float32), (rows[positive], cols[positive])),
            shape=(self.n_items_, self.n_items_),
        )
        self.association_ = prune_rows(association, self.n_neighbors)
        purchases = data.events.select(data.events.event_types == EVENT_PURCHASE)
        self.profile_ = recent_profile(purchases, self.recent_items, recency_half_life=float(self.recent_items))
        self.history_: UserHistory = UserHistory(self.profile_, data.purchased, max_items=self.recent_items)
        self._lookup: SparseLookup | None = None
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.profile_[users] @ self.association_).toarray(), dtype=np.float32)

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return SparseScores(self.profile_[users] @ self.association_)

    def bought_together(self, items: Sequence[int] | np.ndarray, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """For each item, the n items most strongly bought with it (-1 pad) and the lift/confidence."""
        return neighbours_of(self.association_, np.asarray(items), n)

    def score_items(self, items: Sequence[int]) -> np.ndarray:
        """Scores for a cart: summed association with every item in it, shape (n_items,)."""
        profile = np.zeros(self.n_items_, dtype=np.float32)
        np.add.at(profile, np.asarray(items, dtype=np.int64), 1.0)
        return np.asarray(self.association_.T @ profile, dtype=np.float32).ravel()

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        if self._lookup is None:
            self._lookup = SparseLookup(self.association_)
        lookup = self._lookup

        def similarity(history: np.ndarray, targets: np.ndarray) -> np.ndarray:
            return lookup.get(history, np.broadcast_to(targets[:, None], history.shape))

        return self.history_.explain(users, items, similarity, anchored_kind=ReasonKind.BOUGHT_TOGETHER)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_lookup"] = None
        return state
