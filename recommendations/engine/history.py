"""Customer histories as reasons see them: the strongest past interactions and a look-up of purchases.

`UserHistory.explain` anchors a recommended item on the history item that contributes most to it under the
model's own item-item link, which is what makes "because you bought X" truthful.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp

from recommendations.engine.reasons import REASON_CODE, ReasonArrays, ReasonKind


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


class SparseLookup:
    """Vectorized value look-up M[row, col] for many pairs of a sparse matrix (0 where absent)."""

    def __init__(self, matrix: sp.spmatrix) -> None:
        coo = sp.coo_matrix(matrix)
        self.n_cols = coo.shape[1]
        keys = coo.row.astype(np.int64) * self.n_cols + coo.col
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.values = coo.data[order].astype(np.float32)

    def get(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        out = np.zeros(rows.shape, dtype=np.float32)
        valid = (rows >= 0) & (cols >= 0)
        if not len(self.keys) or not valid.any():
            return out
        query = rows[valid] * self.n_cols + cols[valid]
        pos = np.searchsorted(self.keys, query)
        pos_clipped = np.minimum(pos, len(self.keys) - 1)
        found = self.keys[pos_clipped] == query
        values = np.where(found, self.values[pos_clipped], 0.0)
        out[valid] = values
        return out


def top_history(matrix: sp.csr_matrix, max_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's `max_items` strongest interactions: (n_users, H) item indices (-1 pad) and weights."""
    n_users = matrix.shape[0]
    counts = np.diff(matrix.indptr)
    width = max(1, int(min(max_items, counts.max() if n_users and matrix.nnz else 0)))
    items = np.full((n_users, width), -1, dtype=np.int32)
    weights = np.zeros((n_users, width), dtype=np.float32)
    if matrix.nnz == 0:
        return items, weights
    rows = np.repeat(np.arange(n_users), counts)
    order = np.lexsort((-matrix.data, rows))  # rows stay in their CSR blocks, strongest first within each
    rank = np.arange(matrix.nnz) - matrix.indptr[rows]
    keep = rank < width
    items[rows[keep], rank[keep]] = matrix.indices[order][keep]
    weights[rows[keep], rank[keep]] = matrix.data[order][keep]
    return items, weights


class UserHistory:
    """The part of each customer's history that reasons point at ("because you bought X").

    Keeps the `max_items` strongest interactions per customer and a look-up of what they bought, so that
    explaining a pair costs a few gathers instead of a pass over the whole matrix.
    """

    def __init__(self, matrix: sp.csr_matrix, purchased: sp.csr_matrix | None, max_items: int = 50) -> None:
        self.items, self.weights = top_history(sp.csr_matrix(matrix), max_items)
        self._purchased = SparseLookup(purchased) if purchased is not None and purchased.nnz else None

    def bought(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if self._purchased is None:
            return np.zeros(np.shape(items), dtype=bool)
        return self._purchased.get(users, items) > 0

    def explain(
        self,
        users: np.ndarray,
        items: np.ndarray,
        similarity: Callable[[np.ndarray, np.ndarray], np.ndarray],
        *,
        anchored_kind: ReasonKind | None = None,
        chunk: int = 4096,
    ) -> ReasonArrays:
        """Anchor each pair on the history item h maximizing weight(u, h) * similarity(h, item).

        `similarity(history_items (P, H), items (P,)) -> (P, H)` is the model's own item-item link (EASE
        weights, factor cosine, kNN similarity...), so the anchor is the item that drives the score.
        With `anchored_kind` every anchored pair gets that kind; otherwise bought -> "because you bought",
        anything else -> "because you viewed". Pairs without a positive contribution stay "personalized".
        """
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        anchors = np.full(len(items), -1, dtype=np.int32)
        for part in iter_batches(len(items), chunk):
            history = self.items[users[part]]
            weights = self.weights[users[part]]
            sims = similarity(history, items[part])
            contributions = weights * sims
            contributions[history == items[part, None]] = -np.inf  # never "because you bought X" for X itself
            anchors[part] = anchors_from_contributions(history, contributions)
        reasons = ReasonArrays.filled(np.shape(items), ReasonKind.PERSONALIZED)
        has_anchor = anchors >= 0
        reasons.anchors[has_anchor] = anchors[has_anchor]
        if anchored_kind is not None:
            reasons.kinds[has_anchor] = REASON_CODE[anchored_kind]
            return reasons
        bought = np.zeros(len(items), dtype=bool)
        bought[has_anchor] = self.bought(users[has_anchor], anchors[has_anchor])
        reasons.kinds[has_anchor & bought] = REASON_CODE[ReasonKind.BECAUSE_BOUGHT]
        reasons.kinds[has_anchor & ~bought] = REASON_CODE[ReasonKind.BECAUSE_VIEWED]
        return reasons


def anchors_from_contributions(history_items: np.ndarray, contributions: np.ndarray) -> np.ndarray:
    """For each pair, the history item with the largest positive contribution (-1 if none is positive)."""
    contributions = np.where(history_items >= 0, contributions, -np.inf)
    best = np.argmax(contributions, axis=-1)
    anchor = np.take_along_axis(history_items, best[..., None], axis=-1)[..., 0]
    best_value = np.take_along_axis(contributions, best[..., None], axis=-1)[..., 0]
    return np.where(best_value > 0, anchor, -1).astype(np.int32)
