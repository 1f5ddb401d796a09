"""Hyperparameter tuning on a time-based validation split carved from the training data.

One protocol for every model (baselines and the hybrid's components alike): split the training events per
customer by time (last `fraction` held out), fit each candidate on the earlier part, rank for customers with
held-out items excluding what they already interacted with, keep the candidate with the best NDCG@K.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from recommendations.engine.als import ALSRecommender
from recommendations.engine.base import Recommender
from recommendations.engine.content import ContentRecommender
from recommendations.engine.data import TrainingData
from recommendations.engine.ease import EASERecommender
from recommendations.engine.evaluation import (
    cutoff_for_fraction,
    per_user_accuracy,
    relevance_matrix,
    split_global_by_time,
    split_per_user_by_time,
)
from recommendations.engine.fbt import FrequentlyBoughtTogetherRecommender
from recommendations.engine.item_knn import ItemKNNRecommender
from recommendations.engine.popularity import (
    CategoryPopularityRecommender,
    PopularityRecommender,
    TrendingRecommender,
)
from recommendations.engine.segments import SegmentPopularityRecommender
from recommendations.engine.sequential import SequentialItemToItemRecommender
from recommendations.engine.social import SocialRecommender

RECOMMENDERS: Mapping[str, type[Recommender]] = {
    "popularity": PopularityRecommender,
    "trending": TrendingRecommender,
    "category_popularity": CategoryPopularityRecommender,
    "item_knn": ItemKNNRecommender,
    "sequential": SequentialItemToItemRecommender,
    "fbt": FrequentlyBoughtTogetherRecommender,
    "ease": EASERecommender,
    "als": ALSRecommender,
    "content": ContentRecommender,
    "social": SocialRecommender,
    "segment": SegmentPopularityRecommender,
}

# Small grids: enough to adapt to a store's density and recency without turning a nightly retrain into a
# search. Every baseline in the benchmark and every hybrid component use these same grids.
DEFAULT_GRIDS: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "popularity": [{"half_life_days": h} for h in (3.0, 14.0, 60.0, None)],
    "item_knn": [{"n_neighbors": k, "shrinkage": s} for k in (50, 200) for s in (0.0, 20.0)],
    "ease": [{"l2": l2} for l2 in (50.0, 200.0, 500.0, 1500.0)],
    "als": [{"factors": f, "alpha": a, "regularization": r} for f in (64,) for a in (2.0, 10.0) for r in (0.05, 1.0)]
    + [{"factors": 128, "alpha": 10.0, "regularization": 1.0}],
    "sequential": [{"window": w, "recent_items": m} for w in (3, 10) for m in (5, 20)],
}


def make_recommender(name: str, params: Mapping[str, Any] | None = None) -> Recommender:
    if name not in RECOMMENDERS:
        raise ValueError(f"unknown recommender {name!r}; valid: {sorted(RECOMMENDERS)}")
    return RECOMMENDERS[name](**dict(params or {}))


@dataclass
class ValidationSplit:
    """The earlier part of the training data, and what each customer did next (0/1, unseen items only)."""

    train: TrainingData
    relevant: sp.csr_matrix

    @property
    def users(self) -> np.ndarray:
        """Customers with held-out items and some earlier history (the ones a ranking can be judged on)."""
        has_relevant = np.diff(self.relevant.indptr) > 0
        has_history = np.diff(self.train.seen.indptr) > 0
        return np.flatnonzero(has_relevant & has_history)


def validation_split(
    data: TrainingData, fraction: float = 0.2, mode: Literal["per_user", "global"] = "per_user"
) -> ValidationSplit:
    """Carve a validation split from training data by time: per customer's last `fraction`, or a global cut."""
    if mode == "per_user":
        earlier, later = split_per_user_by_time(data.events, fraction)
    else:
        earlier, later = split_global_by_time(data.events, cutoff_for_fraction(data.events, fraction))
    train = data.with_events(earlier)
    return ValidationSplit(train=train, relevant=relevance_matrix(later, exclude=train.seen))


def sample_users(users: np.ndarray, max_users: int | None, random_state: int = 0) -> np.ndarray:
    if max_users is None or len(users) <= max_users:
        return users
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(users, size=max_users, replace=False))


def ranking_quality(
    model: Recommender, split: ValidationSplit, users: np.ndarray, k: int = 10, metric: str = "ndcg"
) -> float:
    """Mean `metric`@k of a fitted model's lists for `users`, excluding items they already interacted with."""
    top = model.recommend(users, n=k, exclude=split.train.seen, with_reasons=False)
    return float(per_user_accuracy(top.items, split.relevant[users], k)[metric].mean())


@dataclass
class TuningResult:
    best_params: dict[str, Any]
    best_score: float
    trials: list[tuple[dict[str, Any], float]] = field(default_factory=list)


def grid_search(
    factory: Callable[[Mapping[str, Any]], Recommender],
    grid: Sequence[Mapping[str, Any]],
    split: ValidationSplit,
    *,
    k: int = 10,
    metric: str = "ndcg",
    users: np.ndarray | None = None,
    on_trial: Callable[[dict[str, Any], float], None] | None = None,
) -> tuple[TuningResult, Recommender]:
    """Fit every candidate on `split.train`, keep the best by `metric`@k; returns it fitted on the split."""
    users = split.users if users is None else users
    result = TuningResult(best_params={}, best_score=-np.inf)
    best_model: Recommender | None = None
    for params in grid or [{}]:
        model = factory(params).fit(split.train)
        quality = ranking_quality(model, split, users, k, metric)
        result.trials.append((dict(params), quality))
        if on_trial is not None:
            on_trial(dict(params), quality)
        if quality > result.best_score:
            result.best_params, result.best_score, best_model = dict(params), quality, model
    assert best_model is not None
    return result, best_model
