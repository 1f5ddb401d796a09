"""EASE (Steck 2019): a linear item-item model with a closed-form solution, strong on small and mid catalogs.

B = argmin ||X - X B||^2 + l2 ||B||^2 with diag(B) = 0 has the solution P = (X^T X + l2 I)^-1,
B_ij = -P_ij / P_jj. The inverse is computed in place through a Cholesky factorization (LAPACK potrf/potri),
so memory is one dense n_items^2 matrix: 15,000 items ~ 0.9 GB in float32 (1.8 GB in float64). Beyond a few
tens of thousands of items use ALS (the hybrid leaves EASE out above `HybridConfig.ease_max_items`).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recommendations.engine.base import Recommender, blas_threads
from recommendations.engine.data import TrainingData
from recommendations.engine.history import UserHistory
from recommendations.engine.reasons import ReasonArrays

# float64 below this size (exactness is cheap), float32 above (halves the memory of the dense inverse).
FLOAT64_MAX_ITEMS = 4_000


def _dense_gram(user_items: sp.csr_matrix, dtype: type, block_items: int = 1024) -> np.ndarray:
    """X^T X as a dense Fortran-ordered array, built in column blocks (never as a huge sparse product)."""
    n_items = user_items.shape[1]
    item_users = sp.csr_matrix(user_items.T, dtype=dtype)
    columns = sp.csc_matrix(user_items, dtype=dtype)
    gram = np.zeros((n_items, n_items), dtype=dtype, order="F")
    for start in range(0, n_items, block_items):
        end = min(n_items, start + block_items)
        gram[:, start:end] = (item_users @ columns[:, start:end]).toarray()
    return gram


def _mirror_upper(matrix: np.ndarray, block_rows: int = 512) -> None:
    """Copy the upper triangle onto the lower one in place, block by block (no n^2 index arrays)."""
    n = matrix.shape[0]
    for start in range(0, n, block_rows):
        end = min(n, start + block_rows)
        target = matrix[start:end, :end]
        source = matrix[:end, start:end].T
        matrix[start:end, :end] = np.triu(target, k=start) + np.tril(source, k=start - 1)


def ease_weights(user_items: sp.csr_matrix, l2: float) -> np.ndarray:
    """The EASE item-item weight matrix B (n_items x n_items, float32, C order, zero diagonal)."""
    n_items = user_items.shape[1]
    dtype = np.float64 if n_items <= FLOAT64_MAX_ITEMS else np.float32
    gram = _dense_gram(user_items, dtype)
    gram[np.diag_indices(n_items)] += l2
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (gram,))
    factor, info = potrf(gram, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE Gram matrix is not positive definite (potrf info={info}); raise l2")
    inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE inversion failed (potri info={info})")
    _mirror_upper(inverse)  # potri fills the upper triangle only
    # P is symmetric, so its transpose is the same matrix seen in C order: scale columns there, no copy.
    weights = inverse.T
    diagonal = weights.diagonal().copy()
    weights /= -diagonal[None, :]
    weights[np.diag_indices(n_items)] = 0.0
    return weights.astype(np.float32, copy=False)


class EASERecommender(Recommender):
    """Closed-form linear item model; `binarize` fits on 0/1 interactions instead of weights."""

    name = "ease"

    def __init__(self, l2: float = 300.0, binarize: bool = False, n_threads: int | None = None) -> None:
        self.l2 = l2
        self.binarize = binarize
        self.n_threads = n_threads

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        matrix = data.seen if self.binarize else data.matrix
        with blas_threads(self.n_threads):
            self.weights_ = ease_weights(matrix, self.l2)
        self.user_items_ = sp.csr_matrix(matrix, dtype=np.float32)
        self.history_: UserHistory = data.history
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        with blas_threads(self.n_threads):
            return np.asarray(self.user_items_[users] @ self.weights_, dtype=np.float32)

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        weights = self.weights_

        def similarity(history: np.ndarray, targets: np.ndarray) -> np.ndarray:
            return np.where(history >= 0, weights[np.maximum(history, 0), targets[:, None]], 0.0)

        return self.history_.explain(users, items, similarity)
