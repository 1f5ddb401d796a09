"""Social recommendations: what the people a customer follows bought and liked, weighted by tie strength.

tie(a, b) = base_tie + similarity_weight * cosine(history_a, history_b) for each "a follows b": following
someone whose taste matches yours makes their purchases count more. A followee's signal is their purchases,
carts, wishlists and good ratings (rating >= `min_rating`), each counted once per item.
score(a, i) = sum over followees b of tie(a, b) * signal(b, i).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from recommendations.engine.base import Recommender, ScoreParts, SparseScores
from recommendations.engine.data import EVENT_CART, EVENT_PURCHASE, EVENT_RATING, EVENT_WISHLIST, TrainingData
from recommendations.engine.reasons import ReasonArrays, ReasonKind


class SocialRecommender(Recommender):
    """Followees' purchases and likes; needs `data.customers.follows`."""

    name = "social"

    def __init__(
        self,
        base_tie: float = 1.0,
        similarity_weight: float = 4.0,
        event_types: Sequence[str] = (EVENT_PURCHASE, EVENT_CART, EVENT_WISHLIST, EVENT_RATING),
        min_rating: float = 4.0,
    ) -> None:
        self.base_tie = base_tie
        self.similarity_weight = similarity_weight
        self.event_types = tuple(event_types)
        self.min_rating = min_rating

    def fit(self, data: TrainingData) -> Self:
        if data.customers is None or data.customers.follows is None:
            raise ValueError("SocialRecommender needs data.customers.follows")
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        log = data.events
        liked = np.isin(log.event_types, self.event_types)
        if log.values is not None:
            is_rating = log.event_types == EVENT_RATING
            liked &= ~is_rating | (np.nan_to_num(log.values, nan=self.min_rating) >= self.min_rating)
        signal = sp.csr_matrix(
            (np.ones(int(liked.sum()), dtype=np.float32), (log.users[liked], log.items[liked])),
            shape=(self.n_users_, self.n_items_),
        )
        signal.sum_duplicates()
        signal.data[:] = 1.0
        self.signal_ = signal
        follows = sp.coo_matrix(data.customers.follows)
        unit_history = sp.csr_matrix(normalize(data.matrix), dtype=np.float32)
        similarity = np.asarray(unit_history[follows.row].multiply(unit_history[follows.col]).sum(axis=1)).ravel()
        ties = self.base_tie + self.similarity_weight * similarity
        self.ties_ = sp.csr_matrix(
            (ties.astype(np.float32), (follows.row, follows.col)), shape=(self.n_users_, self.n_users_)
        )
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.ties_[users] @ self.signal_).toarray(), dtype=np.float32)

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return SparseScores(self.ties_[users] @ self.signal_)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        return ReasonArrays.filled(np.shape(items), ReasonKind.FOLLOWED_BOUGHT)
