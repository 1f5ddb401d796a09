"""Item-to-item collaborative filtering: "similar items" from co-interaction (cosine item-kNN).

score(u, j) = sum over u's items i of x_ui * sim(i, j), where sim keeps each item's `n_neighbors` most similar
items. The same similarity answers "customers who liked this also liked" (`similar_items`) and anonymous
sessions (`score_items`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import Recommender, ScoreParts, SparseScores
from recommendations.engine.data import TrainingData
from recommendations.engine.history import SparseLookup, UserHistory
from recommendations.engine.reasons import ReasonArrays
from recommendations.engine.similarity import cosine_item_similarity, neighbours_of


class ItemKNNRecommender(Recommender):
    """Cosine item-kNN on the interaction matrix (optionally binarized first)."""

    name = "item_knn"

    def __init__(self, n_neighbors: int = 100, shrinkage: float = 10.0, binarize: bool = False) -> None:
        self.n_neighbors = n_neighbors
        self.shrinkage = shrinkage
        self.binarize = binarize

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        matrix = data.seen if self.binarize else data.matrix
        self.similarity_ = cosine_item_similarity(matrix, n_neighbors=self.n_neighbors, shrinkage=self.shrinkage)
        self.user_items_ = sp.csr_matrix(matrix, dtype=np.float32)
        self.history_: UserHistory = data.history
        self._lookup: SparseLookup | None = None
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_items_[users] @ self.similarity_).toarray(), dtype=np.float32)

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return SparseScores(self.user_items_[users] @ self.similarity_)

    def score_items(self, items: Sequence[int], weights: Sequence[float] | None = None) -> np.ndarray:
        """Scores for a bag of items (e.g. an anonymous session's views), shape (n_items,)."""
        profile = np.zeros(self.n_items_, dtype=np.float32)
        np.add.at(profile, np.asarray(items, dtype=np.int64), 1.0 if weights is None else np.asarray(weights))
        return np.asarray(self.similarity_.T @ profile, dtype=np.float32).ravel()

    def item_similarity(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if self._lookup is None:
            self._lookup = SparseLookup(self.similarity_)
        return self._lookup.get(rows, cols)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        def similarity(history: np.ndarray, targets: np.ndarray) -> np.ndarray:
            return self.item_similarity(history, np.broadcast_to(targets[:, None], history.shape))

        return self.history_.explain(users, items, similarity)

    def similar_items(self, items: Sequence[int], n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """For each item, its n most similar items by co-interaction (-1 pad) and the cosine similarities."""
        return neighbours_of(self.similarity_, np.asarray(items), n)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_lookup"] = None  # rebuilt on demand, so a pickled copy stays small
        return state
