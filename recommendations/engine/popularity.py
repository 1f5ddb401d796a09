"""Non-personalized baselines and fallbacks: time-decayed popularity, trending, and popularity per category.

- `PopularityRecommender`: sum of event weights decayed with its own half-life (what sells now, not last year).
- `TrendingRecommender`: how far an item's recent rate is above its usual rate (short vs long half-life),
  in units of the noise of a count, so a small item doubling beats a big item growing by 1 %.
- `CategoryPopularityRecommender`: popular items within the categories a customer engages with
  ("Popular in Kitchen").
All three offer `top_items(n, category=None)` for category pages and empty-history fallbacks.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import DenseScores, LowRankScores, Recommender, ScoreParts, item_moments
from recommendations.engine.data import SECONDS_PER_DAY, TrainingData, event_type_weights, time_decay
from recommendations.engine.reasons import REASON_CODE, ReasonArrays, ReasonKind

# Up to this many categories, "popular in your categories" joins the blend's fused low-rank product; above, a
# per-item gather of the customer's category share is cheaper. (One BLAS thread, 20,000 products, 800 customers:
# 49 extra columns in the product cost 14 ms, the gather 75 ms; they break even near 250 categories.)
LOW_RANK_MAX_CATEGORIES = 128


def decayed_item_totals(
    data: TrainingData, half_life_days: float | None, reference_time: float | None = None
) -> np.ndarray:
    """Per-item sum of event-type weights times 0.5 ** (age / half-life), ages measured from the latest event."""
    log = data.events
    weights = event_type_weights(log, data.config) * time_decay(log, half_life_days, reference_time=reference_time)
    return np.bincount(log.items, weights=weights, minlength=data.n_items).astype(np.float64)


def _top_of(values: np.ndarray, n: int, allowed: np.ndarray | None = None) -> np.ndarray:
    candidates = np.flatnonzero(allowed) if allowed is not None else np.arange(len(values))
    order = np.lexsort((candidates, -values[candidates]))  # ties broken by index for determinism
    return candidates[order[:n]].astype(np.int32)


class PopularityRecommender(Recommender):
    """Most popular items by time-decayed weighted events (`half_life_days=None`: all-time counts)."""

    name = "popularity"

    def __init__(self, half_life_days: float | None = 30.0) -> None:
        self.half_life_days = half_life_days

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        self.item_scores_ = decayed_item_totals(data, self.half_life_days).astype(np.float32)
        self.item_categories_ = data.item_categories
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.item_scores_, (len(users), 1))

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return LowRankScores(np.ones((len(users), 1), dtype=np.float32), self.item_scores_[:, None])

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        return ReasonArrays.filled(np.shape(items), ReasonKind.POPULAR)

    def top_items(self, n: int, category: int | None = None) -> np.ndarray:
        """The n most popular items overall, or within one category."""
        allowed = None if category is None else self.item_categories_ == category
        return _top_of(self.item_scores_, n, allowed)


class TrendingRecommender(Recommender):
    """Items whose recent rate clearly exceeds their usual rate.

    rate_short / rate_long are decayed totals divided by the effective window (half-life / ln 2); the score is
    (rate_short - rate_long) / sqrt(rate_long + prior), a z-like surge statistic that favours real surges
    over the sheer size of already-popular items.
    """

    name = "trending"

    def __init__(
        self, short_half_life_days: float = 7.0, long_half_life_days: float = 90.0, prior: float = 1.0
    ) -> None:
        self.short_half_life_days = short_half_life_days
        self.long_half_life_days = long_half_life_days
        self.prior = prior

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        short = decayed_item_totals(data, self.short_half_life_days) / (self.short_half_life_days / np.log(2))
        long_window = self.long_half_life_days / np.log(2)
        if len(data.events):
            span_days = (data.events.latest_time - data.events.timestamps.min()) / SECONDS_PER_DAY
            long_window = min(long_window, max(span_days, self.short_half_life_days))  # young stores
        long = decayed_item_totals(data, self.long_half_life_days) / long_window
        self.item_scores_ = ((short - long) / np.sqrt(long + self.prior)).astype(np.float32)
        self.item_categories_ = data.item_categories
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.tile(self.item_scores_, (len(users), 1))

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return LowRankScores(np.ones((len(users), 1), dtype=np.float32), self.item_scores_[:, None])

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        reasons = ReasonArrays.filled(np.shape(items), ReasonKind.TRENDING)
        reasons.categories[:] = self.item_categories_[np.asarray(items)]
        return reasons

    def top_items(self, n: int, category: int | None = None) -> np.ndarray:
        allowed = None if category is None else self.item_categories_ == category
        return _top_of(self.item_scores_, n, allowed)


class CategoryAffinityScores(ScoreParts):
    """score(u, i) = affinity[u, category(i)] * relative_popularity[i], kept in that factored form."""

    def __init__(self, affinity: np.ndarray, item_categories: np.ndarray, relative: np.ndarray) -> None:
        n_categories = affinity.shape[1]
        self.affinity = np.hstack([affinity, np.zeros((affinity.shape[0], 1), dtype=np.float32)])
        self.category_index = np.where(item_categories >= 0, item_categories, n_categories)  # none -> zero column
        self.relative = relative.astype(np.float32)
        self.n_items = len(relative)

    @property
    def n_rows(self) -> int:
        return self.affinity.shape[0]

    def row_moments(self) -> tuple[np.ndarray, np.ndarray]:
        n_columns = self.affinity.shape[1]
        sums = np.bincount(self.category_index, weights=self.relative, minlength=n_columns)
        squares = np.bincount(self.category_index, weights=self.relative.astype(np.float64) ** 2, minlength=n_columns)
        affinity = self.affinity.astype(np.float64)
        total, total_squares = affinity @ sums, (affinity**2) @ squares
        mean = total / self.n_items
        return mean, np.sqrt(np.maximum(total_squares / self.n_items - mean**2, 0.0))

    def add_to(self, out: np.ndarray, scale: np.ndarray) -> None:
        gathered = np.take(scale[:, None].astype(np.float32) * self.affinity, self.category_index, axis=1)
        gathered *= self.relative
        out += gathered

    def values_at(self, rows: np.ndarray, cols: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        return self.affinity[rows, self.category_index[cols]] * self.relative[cols]


class CategoryPopularityRecommender(Recommender):
    """Popular items of the categories a customer engages with.

    score(u, i) = share of u's interaction weight in category(i) x popularity of i relative to the most
    popular item of its category. Items without a category score 0.
    """

    name = "category_popularity"

    def __init__(self, half_life_days: float | None = 30.0) -> None:
        self.half_life_days = half_life_days

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        categories = data.item_categories
        self.item_categories_ = categories
        self.n_categories_ = int(categories.max()) + 1 if (categories >= 0).any() else 0
        popularity = decayed_item_totals(data, self.half_life_days)
        self.item_popularity_ = popularity.astype(np.float32)
        has_category = categories >= 0
        relative = np.zeros(self.n_items_, dtype=np.float32)
        if self.n_categories_:
            category_peak = np.zeros(self.n_categories_)
            np.maximum.at(category_peak, categories[has_category], popularity[has_category])
            peak = category_peak[categories[has_category]]
            relative[has_category] = np.divide(popularity[has_category], peak, out=np.zeros_like(peak), where=peak > 0)
        self.relative_popularity_ = relative
        # customer x category share of interaction weight
        item_to_category = sp.csr_matrix(
            (np.ones(has_category.sum(), dtype=np.float32), (np.flatnonzero(has_category), categories[has_category])),
            shape=(self.n_items_, max(self.n_categories_, 1)),
        )
        affinity = sp.csr_matrix(data.matrix @ item_to_category)
        totals = np.asarray(affinity.sum(axis=1)).ravel()
        totals[totals == 0] = 1.0
        self.affinity_ = sp.csr_matrix(sp.diags(1.0 / totals) @ affinity, dtype=np.float32)
        self.item_factors_: np.ndarray | None = None
        if 0 < self.n_categories_ <= LOW_RANK_MAX_CATEGORIES:
            # score = affinity(u) . item_factors(i), item_factors one-hot on the item's category
            factors = np.zeros((self.n_items_, self.n_categories_), dtype=np.float32)
            rows = np.flatnonzero(has_category)
            factors[rows, categories[has_category]] = relative[has_category]
            self.item_factors_ = factors
            self.item_moments_ = item_moments(factors)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        scores = np.zeros((len(users), self.n_items_), dtype=np.float32)
        if not self.n_categories_:
            return scores
        has_category = self.item_categories_ >= 0
        affinity = self.affinity_[users].toarray()
        in_category = affinity[:, self.item_categories_[has_category]]
        scores[:, has_category] = in_category * self.relative_popularity_[has_category]
        return scores

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        if not self.n_categories_:
            return DenseScores(self.score(users))
        affinity = self.affinity_[users].toarray()
        if self.item_factors_ is None:
            return CategoryAffinityScores(affinity, self.item_categories_, self.relative_popularity_)
        return LowRankScores(affinity, self.item_factors_, self.item_moments_)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        reasons = ReasonArrays.filled(np.shape(items), ReasonKind.POPULAR_IN_CATEGORY)
        categories = self.item_categories_[np.asarray(items)]
        reasons.categories[:] = categories
        reasons.kinds[categories < 0] = REASON_CODE[ReasonKind.POPULAR]
        return reasons

    def top_items(self, n: int, category: int | None = None) -> np.ndarray:
        allowed = None if category is None else self.item_categories_ == category
        return _top_of(self.item_popularity_, n, allowed)
