"""Collaborative filtering chosen by catalog size: EASE up to `ease_max_items` items, ALS above.

EASE is the more accurate of the two on small and mid catalogs but needs a dense n_items^2 inverse
(time ~ n^3, memory ~ n^2), so larger catalogs switch to ALS, whose cost grows with the interactions.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np

from recommendations.engine.als import ALSRecommender
from recommendations.engine.base import Recommender
from recommendations.engine.data import TrainingData
from recommendations.engine.ease import EASERecommender
from recommendations.engine.reasons import ReasonArrays

DEFAULT_EASE_MAX_ITEMS = 15_000


def choose_cf_algorithm(n_items: int, ease_max_items: int = DEFAULT_EASE_MAX_ITEMS) -> str:
    """ "ease" when the catalog is small enough for the dense closed form, else "als"."""
    return "ease" if n_items <= ease_max_items else "als"


class CollaborativeFilteringRecommender(Recommender):
    """Personalized ranking by EASE or ALS, picked automatically from the catalog size at fit time."""

    name = "cf"

    def __init__(
        self,
        ease_max_items: int = DEFAULT_EASE_MAX_ITEMS,
        ease_params: dict[str, Any] | None = None,
        als_params: dict[str, Any] | None = None,
    ) -> None:
        self.ease_max_items = ease_max_items
        self.ease_params = ease_params or {}
        self.als_params = als_params or {}

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        self.algorithm_ = choose_cf_algorithm(data.n_items, self.ease_max_items)
        model: Recommender = (
            EASERecommender(**self.ease_params) if self.algorithm_ == "ease" else ALSRecommender(**self.als_params)
        )
        self.model_ = model.fit(data)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.model_.score(users)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        return self.model_.explain(users, items)
