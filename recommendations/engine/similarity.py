"""Sparse item-item similarity building blocks: cosine from co-interaction, pruning to the top-k neighbours.

The full item x item product would be quadratic in the catalog, so it is computed in column blocks and each
block is pruned to its `n_neighbors` best entries per item before the next one is built.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommendations.engine.history import iter_batches


def prune_rows(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of every row; drops non-positive entries. Column order within rows is kept
    as it was (callers never rely on sorted indices), which spares a sort of the whole matrix."""
    matrix = sp.csr_matrix(matrix)
    counts = np.diff(matrix.indptr)
    keep = matrix.data > 0
    for row in np.flatnonzero(counts > k):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values = np.where(keep[start:end], matrix.data[start:end], -np.inf)
        drop = np.argpartition(-values, k - 1)[k:]
        keep[start + drop] = False
    kept_before = np.concatenate([[0], np.cumsum(keep)])  # kept entries before each position
    kept_per_row = kept_before[matrix.indptr[1:]] - kept_before[matrix.indptr[:-1]]
    indptr = np.concatenate([[0], np.cumsum(kept_per_row)]).astype(np.int64)
    return sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)


def cosine_item_similarity(
    user_items: sp.csr_matrix,
    *,
    n_neighbors: int = 100,
    shrinkage: float = 0.0,
    block_items: int = 2048,
) -> sp.csr_matrix:
    """Item x item cosine similarity of co-interaction columns, top `n_neighbors` per item row, zero diagonal.

    sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrinkage); shrinkage damps pairs supported by few customers.
    """
    item_users = sp.csc_matrix(user_items, dtype=np.float32)
    norms = np.sqrt(np.asarray(item_users.multiply(item_users).sum(axis=0)).ravel()).astype(np.float32)
    n_items = user_items.shape[1]
    item_major = sp.csr_matrix(item_users.T)
    blocks = []
    for block in iter_batches(n_items, block_items):
        gram = sp.csr_matrix(item_major[block] @ item_users)  # (block, n_items) co-interaction
        rows = np.repeat(np.arange(block.start, block.stop), np.diff(gram.indptr))
        denom = norms[rows] * norms[gram.indices] + shrinkage
        gram.data = np.divide(gram.data, denom, out=np.zeros_like(gram.data), where=denom > 0)
        gram.data[rows == gram.indices] = 0.0  # an item is not its own neighbour
        blocks.append(prune_rows(gram, n_neighbors))
    if not blocks:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    return sp.csr_matrix(sp.vstack(blocks), dtype=np.float32)


def neighbours_of(similarity: sp.csr_matrix, items: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each query item, its n most similar items (-1 pad) and similarities, from a pruned similarity."""
    items = np.asarray(items, dtype=np.int64)
    out_items = np.full((len(items), n), -1, dtype=np.int32)
    out_scores = np.full((len(items), n), np.nan, dtype=np.float32)
    for row, item in enumerate(items):
        start, end = similarity.indptr[item], similarity.indptr[item + 1]
        cols, values = similarity.indices[start:end], similarity.data[start:end]
        order = np.lexsort((cols, -values))[:n]
        out_items[row, : len(order)] = cols[order]
        out_scores[row, : len(order)] = values[order]
    return out_items, out_scores
