"""Sequential item-to-item: what customers engage with shortly before or after an item ("viewed next").

Each customer's events are put in time order; every pair of items at most `window` steps apart (and, if set,
at most `max_gap_days` apart in time) counts 1/distance. The counts are normalized like a cosine,
c(i, j) / sqrt(n_i n_j), made symmetric and pruned to `n_neighbors` per item. A customer is scored from their
`recent_items` latest events with weights halving every `recency_half_life` steps back, so what they looked at
last weighs most. This is the model of an anonymous session too (`score_items` with the session's views).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import Recommender, ScoreParts, SparseScores
from recommendations.engine.data import SECONDS_PER_DAY, EventLog, TrainingData
from recommendations.engine.history import SparseLookup, UserHistory
from recommendations.engine.reasons import ReasonArrays
from recommendations.engine.similarity import neighbours_of, prune_rows


def sequence_order(log: EventLog) -> np.ndarray:
    """Event indices sorted by customer, then time (stable, so equal times keep input order)."""
    return np.lexsort((log.timestamps, log.users))


def has_sessions(log: EventLog, gap_seconds: float = 1800.0, min_share: float = 0.25) -> bool:
    """Whether customers' events come in sessions: at least `min_share` of each customer's consecutive events
    lie within `gap_seconds` of each other. Without sessions (e.g. one order a month, or timestamps that carry
    no order) "engaged with next" is noise, so the sequential component is left out."""
    if len(log) < 2:
        return False
    order = sequence_order(log)
    users, times = log.users[order], log.timestamps[order]
    same = users[1:] == users[:-1]
    if not same.any():
        return False
    close = (times[1:] - times[:-1])[same] <= gap_seconds
    return bool(close.mean() >= min_share)


def recent_profile(
    log: EventLog, recent_items: int, recency_half_life: float, order: np.ndarray | None = None
) -> sp.csr_matrix:
    """Customer x item matrix of each customer's last `recent_items` events, weight 0.5 ** (steps back / h).

    `order` may pass a precomputed `sequence_order(log)`.
    """
    order = sequence_order(log) if order is None else order
    users = log.users[order]
    counts = np.bincount(users, minlength=log.n_users)
    ends = np.cumsum(counts)
    steps_back = ends[users] - 1 - np.arange(len(users))
    keep = steps_back < recent_items
    weights = np.exp2(-steps_back[keep] / recency_half_life).astype(np.float32)
    profile = sp.csr_matrix(
        (weights, (users[keep], log.items[order][keep])), shape=(log.n_users, log.n_items), dtype=np.float32
    )
    profile.sum_duplicates()
    return profile


class SequentialItemToItemRecommender(Recommender):
    """Item-to-item links from closeness in customers' event sequences, applied to their latest events."""

    name = "sequential"

    def __init__(
        self,
        window: int = 10,
        max_gap_days: float | None = None,
        n_neighbors: int = 200,
        recent_items: int = 20,
        recency_half_life: float = 5.0,
    ) -> None:
        self.window = window
        self.max_gap_days = max_gap_days
        self.n_neighbors = n_neighbors
        self.recent_items = recent_items
        self.recency_half_life = recency_half_life

    def fit(self, data: TrainingData) -> Self:
        log = data.events
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        order = sequence_order(log)
        users, items, times = log.users[order], log.items[order], log.timestamps[order]
        rows: list[np.ndarray] = [np.zeros(0, np.int32)]
        cols: list[np.ndarray] = [np.zeros(0, np.int32)]
        values: list[np.ndarray] = [np.zeros(0, np.float32)]
        for distance in range(1, self.window + 1):
            same = users[distance:] == users[:-distance]
            if self.max_gap_days is not None:
                same &= (times[distance:] - times[:-distance]) <= self.max_gap_days * SECONDS_PER_DAY
            rows.append(items[:-distance][same])
            cols.append(items[distance:][same])
            values.append(np.full(int(same.sum()), 1.0 / distance, dtype=np.float32))
        before, after = np.concatenate(rows), np.concatenate(cols)
        weights = np.concatenate(values)
        distinct = before != after  # an item next to itself says nothing
        first, second = before[distinct], after[distinct]
        # both directions at once: "viewed before or after" both mean "belong to the same visit"
        counts = sp.csr_matrix(
            (np.tile(weights[distinct], 2), (np.concatenate([first, second]), np.concatenate([second, first]))),
            shape=(self.n_items_, self.n_items_),
            dtype=np.float32,
        )
        item_counts = np.bincount(items, minlength=self.n_items_).astype(np.float32) + 1.0
        scale = 1.0 / np.sqrt(item_counts)
        row_of_entry = np.repeat(np.arange(self.n_items_), np.diff(counts.indptr))
        counts.data *= scale[row_of_entry] * scale[counts.indices]
        self.similarity_ = prune_rows(counts, self.n_neighbors)
        self.profile_ = recent_profile(log, self.recent_items, self.recency_half_life, order)
        self.history_: UserHistory = UserHistory(self.profile_, data.purchased, max_items=self.recent_items)
        self._lookup: SparseLookup | None = None
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.profile_[users] @ self.similarity_).toarray(), dtype=np.float32)

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return SparseScores(self.profile_[users] @ self.similarity_)

    def score_items(self, items: Sequence[int]) -> np.ndarray:
        """Scores for a session given its items in time order (latest last), shape (n_items,)."""
        recent = np.asarray(items, dtype=np.int64)[-self.recent_items :]
        steps_back = np.arange(len(recent))[::-1]
        profile = np.zeros(self.n_items_, dtype=np.float32)
        np.add.at(profile, recent, np.exp2(-steps_back / self.recency_half_life).astype(np.float32))
        return np.asarray(self.similarity_.T @ profile, dtype=np.float32).ravel()

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        if self._lookup is None:
            self._lookup = SparseLookup(self.similarity_)
        lookup = self._lookup

        def similarity(history: np.ndarray, targets: np.ndarray) -> np.ndarray:
            return lookup.get(history, np.broadcast_to(targets[:, None], history.shape))

        return self.history_.explain(users, items, similarity)

    def similar_items(self, items: Sequence[int], n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items most often engaged with right before or after each given item."""
        return neighbours_of(self.similarity_, np.asarray(items), n)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_lookup"] = None
        return state
