"""Matrix factorization for implicit feedback (Hu, Koren & Volinsky 2008) via the `implicit` library (CPU).

Confidence c_ui = 1 + alpha * x_ui; factors are learnt by alternating least squares with conjugate gradient.
Scores are dot products of customer and item factors. Reasons anchor on the history item whose factor is
closest (cosine) to the recommended item's, weighted by the interaction strength.
"""

from __future__ import annotations

import logging
from typing import Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

from recommendations.engine.base import LowRankScores, Recommender, ScoreParts, blas_threads, item_moments
from recommendations.engine.data import TrainingData
from recommendations.engine.history import UserHistory
from recommendations.engine.reasons import ReasonArrays

logging.getLogger("implicit").setLevel(logging.ERROR)  # its OpenBLAS-threads hint: we limit BLAS ourselves


class ALSRecommender(Recommender):
    """Implicit-feedback ALS; deterministic for a given `random_state` and thread count."""

    name = "als"
    # Fitted (scikit-learn's trailing underscore): one factor row per user and per item.
    user_factors_: np.ndarray
    item_factors_: np.ndarray

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        binarize: bool = False,
        random_state: int = 0,
        n_threads: int = 0,
        warm_start_iterations: int = 5,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.binarize = binarize
        self.random_state = random_state
        self.n_threads = n_threads
        self.warm_start_iterations = warm_start_iterations

    def fit(self, data: TrainingData) -> Self:
        return self._fit(data, None)

    def refit(self, data: TrainingData, previous: Recommender | None = None) -> Self:
        """Fit starting from `previous`'s factors (same index spaces), `warm_start_iterations` sweeps only:
        the hybrid refits on all data right after fitting on most of it, so the factors are nearly there."""
        if isinstance(previous, ALSRecommender) and previous.item_factors_.shape == (data.n_items, self.factors):
            return self._fit(data, previous)
        return self._fit(data, None)

    def _fit(self, data: TrainingData, previous: ALSRecommender | None) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        matrix = sp.csr_matrix(data.seen if self.binarize else data.matrix, dtype=np.float32)
        # implicit parallelizes itself; a multi-threaded BLAS underneath would oversubscribe the cores.
        with blas_threads(1):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations if previous is None else self.warm_start_iterations,
                random_state=self.random_state,
                num_threads=self.n_threads,
            )
            if previous is not None:
                model.user_factors = previous.user_factors_.copy()
                model.item_factors = previous.item_factors_.copy()
            model.fit(matrix, show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        norms = np.linalg.norm(self.item_factors_, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.unit_item_factors_ = self.item_factors_ / norms
        self.item_moments_ = item_moments(self.item_factors_)
        self.history_: UserHistory = data.history
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        return LowRankScores(self.user_factors_[users], self.item_factors_, self.item_moments_)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        unit = self.unit_item_factors_

        def similarity(history: np.ndarray, targets: np.ndarray) -> np.ndarray:
            sims = np.einsum("phf,pf->ph", unit[np.maximum(history, 0)], unit[targets])
            return np.where(history >= 0, sims, 0.0)

        return self.history_.explain(users, items, similarity)
