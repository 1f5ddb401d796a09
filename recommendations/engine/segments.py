"""Demographic / segment fallback: what is popular among customers like this one (age band, gender, region).

Each attribute value a has its item distribution p(i | a) (share of that group's customers who engaged with i,
shrunk towards the overall distribution p(i) with `shrinkage` pseudo-customers so small groups do not
overfit). Attributes combine naive-Bayes style:
    score(i | a_1..a_k) = p(i) * prod_k p(i | a_k) / p(i),
so a 30-39 woman in the north gets what each of those traits favours, even if that exact combination is rare.
Unknown attributes (-1) contribute nothing. Works for customers with no history at all, which is its purpose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import DenseScores, Recommender, ScoreParts, TableScores
from recommendations.engine.data import TrainingData, time_decay
from recommendations.engine.reasons import ReasonArrays, ReasonKind

TABLE_MAX_CELLS = 50_000_000  # precomputed segment x item scores above this size are computed per batch instead


def encode_attributes(columns: Mapping[str, Sequence[object]]) -> tuple[np.ndarray, dict[str, list[object]]]:
    """Categorical customer columns -> int codes (n_users x n_columns, -1 for None/"") and each column's values.

    The vocabularies let the Django layer encode a new customer's attributes the same way later.
    """
    names = list(columns)
    n_rows = len(columns[names[0]]) if names else 0
    codes = np.full((n_rows, len(names)), -1, dtype=np.int32)
    vocabularies: dict[str, list[object]] = {}
    for col, name in enumerate(names):
        values = list(columns[name])
        vocabulary = sorted({v for v in values if v is not None and v != ""}, key=str)
        index = {v: k for k, v in enumerate(vocabulary)}
        codes[:, col] = [index.get(v, -1) if v is not None else -1 for v in values]
        vocabularies[name] = vocabulary
    return codes, vocabularies


class SegmentPopularityRecommender(Recommender):
    """Popular among similar customers; needs `data.customers.attributes`."""

    name = "segment"

    def __init__(self, shrinkage: float = 20.0, half_life_days: float | None = None) -> None:
        self.shrinkage = shrinkage
        self.half_life_days = half_life_days

    def fit(self, data: TrainingData) -> Self:
        if data.customers is None or data.customers.attributes is None:
            raise ValueError("SegmentPopularityRecommender needs data.customers.attributes")
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        log = data.events
        decay = time_decay(log, self.half_life_days)
        # one vote per (customer, item): heavy users must not define their whole segment
        engaged = sp.csr_matrix((decay, (log.users, log.items)), shape=(self.n_users_, self.n_items_))
        engaged.sum_duplicates()
        engaged.data = np.minimum(engaged.data, 1.0)
        overall = np.asarray(engaged.sum(axis=0)).ravel() + 1e-3
        overall /= overall.sum()
        self.log_overall_ = np.log(overall).astype(np.float32)
        attributes = data.customers.attributes
        self.attributes_ = attributes
        self.log_ratios_: list[np.ndarray] = []
        for col in range(attributes.shape[1]):
            values = attributes[:, col]
            n_values = int(values.max()) + 1 if (values >= 0).any() else 0
            known = values >= 0
            membership = sp.csr_matrix(
                (np.ones(int(known.sum()), dtype=np.float32), (values[known], np.flatnonzero(known))),
                shape=(max(n_values, 1), self.n_users_),
            )
            counts = np.asarray((membership @ engaged).toarray(), dtype=np.float64)  # values x items
            totals = counts.sum(axis=1, keepdims=True)
            conditional = (counts + self.shrinkage * overall) / (totals + self.shrinkage)
            self.log_ratios_.append(np.log(conditional / overall).astype(np.float32))
        # customers sharing all attributes share their scores: one table row per combination, when it fits
        combos, self.combo_of_user_ = np.unique(attributes, axis=0, return_inverse=True)
        self.combo_of_user_ = self.combo_of_user_.ravel()
        self.combo_table_ = self.score_attributes(combos) if len(combos) * self.n_items_ <= TABLE_MAX_CELLS else None
        if self.combo_table_ is not None:
            table = self.combo_table_.astype(np.float64)
            self.combo_moments_ = (table.mean(axis=1), table.std(axis=1))
        return self

    def score_attributes(self, attributes: np.ndarray) -> np.ndarray:
        """Scores for customers given only their attribute codes (n x n_attributes), e.g. brand-new sign-ups."""
        attributes = np.atleast_2d(np.asarray(attributes, dtype=np.int32))
        log_score = np.tile(self.log_overall_, (attributes.shape[0], 1))
        for col, ratios in enumerate(self.log_ratios_):
            values = attributes[:, col]
            known = (values >= 0) & (values < ratios.shape[0])
            log_score[known] += ratios[values[known]]
        return np.exp(log_score - log_score.max(axis=1, keepdims=True))

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.score_attributes(self.attributes_[users])

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        if self.combo_table_ is None:
            return DenseScores(self.score(users))
        return TableScores(self.combo_table_, self.combo_of_user_[users], self.combo_moments_)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        return ReasonArrays.filled(np.shape(items), ReasonKind.POPULAR_WITH_SEGMENT)
