"""The common interface of every recommender and the batched top-N machinery they share.

A recommender is fitted on `TrainingData`, then `score(users)` returns a dense (len(users), n_items) float32
block of scores and `explain(users, items)` the reasons for given (user, item) pairs. `recommend` builds the
top-N lists for any number of customers in memory-bounded batches, masking excluded items, and attaches reasons.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommendations.engine.data import TrainingData
from recommendations.engine.history import iter_batches
from recommendations.engine.reasons import Reason, ReasonArrays, ReasonKind

T = TypeVar("T")

# Dense score blocks are kept around this many cells (x4 bytes) so memory stays flat whatever the store size.
DEFAULT_BATCH_CELLS = 16_000_000


@dataclass(frozen=True)
class Recommendation:
    item: int
    score: float
    reason: Reason


@dataclass
class TopN:
    """Top-N lists for a batch of customers: row r belongs to `users[r]`; item -1 pads a short list."""

    users: np.ndarray  # (B,) int
    items: np.ndarray  # (B, N) int32
    scores: np.ndarray  # (B, N) float32, NaN where padded
    reasons: ReasonArrays  # each array (B, N)

    def recommendations(self, row: int) -> list[Recommendation]:
        """One customer's list as objects (for serving/inspection; bulk consumers should read the arrays)."""
        out = []
        for col in range(self.items.shape[1]):
            item = int(self.items[row, col])
            if item < 0:
                break
            out.append(Recommendation(item, float(self.scores[row, col]), self.reasons.at(row, col)))
        return out

    @staticmethod
    def concatenate(parts: list[TopN]) -> TopN:
        return TopN(
            users=np.concatenate([p.users for p in parts]),
            items=np.concatenate([p.items for p in parts]),
            scores=np.concatenate([p.scores for p in parts]),
            reasons=ReasonArrays(
                kinds=np.concatenate([p.reasons.kinds for p in parts]),
                anchors=np.concatenate([p.reasons.anchors for p in parts]),
                categories=np.concatenate([p.reasons.categories for p in parts]),
            ),
        )


@contextmanager
def blas_threads(n_threads: int | None) -> Iterator[None]:
    """Limit BLAS/OpenMP threads inside the block (None leaves the process default)."""
    if n_threads is None:
        yield
        return
    with threadpool_limits(limits=n_threads):
        yield


def run_batches(work: Callable[[T], None], jobs: Sequence[T], n_jobs: int = 1) -> None:
    """`work(job)` for every job, on `n_jobs` threads when > 1 (for numpy-heavy jobs that release the GIL and
    write disjoint parts of shared outputs). An exception in any job is raised here."""
    if n_jobs <= 1 or len(jobs) <= 1:
        for job in jobs:
            work(job)
        return
    with ThreadPoolExecutor(max_workers=min(n_jobs, len(jobs))) as pool:
        for _ in pool.map(work, jobs):
            pass


def batch_size_for(n_items: int, cells: int = DEFAULT_BATCH_CELLS) -> int:
    return max(1, cells // max(1, n_items))


def mask_pairs(scores: np.ndarray, users: np.ndarray, exclude: sp.csr_matrix | None, value: float = -np.inf) -> None:
    """Set scores[r, j] = value wherever exclude[users[r], j] is nonzero (in place)."""
    if exclude is None:
        return
    block = exclude[users]
    rows = np.repeat(np.arange(len(users)), np.diff(block.indptr))
    scores[rows, block.indices] = value


def _top_n_exact(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    n_rows, n_items = scores.shape
    n_take = min(n, n_items)
    if n_take < n_items:
        part = np.argpartition(-scores, n_take - 1, axis=1)[:, :n_take]
    else:
        part = np.tile(np.arange(n_items), (n_rows, 1))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


TOP_N_BLOCK = 32


def _top_n_blocks(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-n for wide rows without partitioning whole rows.

    Rows are cut into blocks of TOP_N_BLOCK items. An item outside the n blocks with the largest maxima is
    beaten by those n maxima, so the top n all lie in those blocks: only n * TOP_N_BLOCK candidates per row
    are ranked.
    """
    n_rows, n_items = scores.shape
    starts = np.arange(0, n_items, TOP_N_BLOCK)
    block_max = np.maximum.reduceat(scores, starts, axis=1)
    top_blocks = np.argpartition(-block_max, n - 1, axis=1)[:, :n]
    candidates = (starts[top_blocks][:, :, None] + np.arange(TOP_N_BLOCK)).reshape(n_rows, -1)
    outside = candidates >= n_items
    candidates[outside] = n_items - 1
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    candidate_scores[outside] = -np.inf
    local, best = _top_n_exact(candidate_scores, n)
    return np.take_along_axis(candidates, local, axis=1), best


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row top-n item indices and scores, best first; -inf entries are never returned (padded with -1)."""
    n_rows, n_items = scores.shape
    n_take = min(n, n_items)
    if n_take == 0:
        return np.full((n_rows, n), -1, np.int32), np.full((n_rows, n), np.nan, np.float32)
    if n_items >= 8 * TOP_N_BLOCK * n_take and n_rows:
        part, part_scores = _top_n_blocks(scores, n_take)
    else:
        part, part_scores = _top_n_exact(scores, n_take)
    items = part.astype(np.int32)
    best = part_scores.astype(np.float32)
    invalid = ~np.isfinite(best)
    items[invalid] = -1
    best[invalid] = np.nan
    if n_take < n:
        items = np.pad(items, ((0, 0), (0, n - n_take)), constant_values=-1)
        best = np.pad(best, ((0, 0), (0, n - n_take)), constant_values=np.nan)
    return items, best


def normalize_rows(scores: np.ndarray, method: str) -> np.ndarray:
    """Per-customer normalization (in place) so that scores of different models can be blended.

    "zscore": (s - mean) / std over the catalog; "max": s / max |s|; "none": unchanged.
    """
    if method == "none":
        return scores
    if method == "zscore":
        mean = scores.mean(axis=1, keepdims=True, dtype=np.float64).astype(np.float32)
        scores -= mean
        std = np.sqrt(np.mean(np.square(scores), axis=1, keepdims=True, dtype=np.float64)).astype(np.float32)
        std[std == 0] = 1.0
        scores /= std
        return scores
    if method == "max":
        peak = np.abs(scores).max(axis=1, keepdims=True)
        peak[peak == 0] = 1.0
        scores /= peak
        return scores
    raise ValueError(f"unknown normalization {method!r}; valid: zscore, max, none")


class ScoreParts(ABC):
    """Scores of a batch of customers in a structured form, so a blend never has to densify each model.

    Blending needs, per model, each row's mean and standard deviation over the catalog (for z-scores), a way to
    add `scale[row] * scores` into a dense accumulator, and the values at a few (row, item) pairs (reasons).
    """

    n_items: int

    @property
    @abstractmethod
    def n_rows(self) -> int: ...

    @abstractmethod
    def row_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of each row over all items, float64."""

    @abstractmethod
    def add_to(self, out: np.ndarray, scale: np.ndarray) -> None:
        """out += scale[:, None] * scores (in place)."""

    @abstractmethod
    def values_at(self, rows: np.ndarray, cols: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        """Scores at pairs (rows[p], cols[p]). `scratch`, if given, is a zeroed float32 (n_rows, n_items) buffer
        that sparse parts may use (and must leave zeroed) to avoid searching."""

    def dense(self) -> np.ndarray:
        out = np.zeros((self.n_rows, self.n_items), dtype=np.float32)
        self.add_to(out, np.ones(self.n_rows, dtype=np.float32))
        return out


def _moments(total: np.ndarray, total_squares: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    mean = total / n
    variance = np.maximum(total_squares / n - mean**2, 0.0)
    return mean, np.sqrt(variance)


class DenseScores(ScoreParts):
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores
        self.n_items = scores.shape[1]

    @property
    def n_rows(self) -> int:
        return self.scores.shape[0]

    def row_moments(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.scores.mean(axis=1, dtype=np.float64)
        return mean, self.scores.std(axis=1, dtype=np.float64)

    def add_to(self, out: np.ndarray, scale: np.ndarray) -> None:
        out += scale[:, None].astype(np.float32) * self.scores

    def values_at(self, rows: np.ndarray, cols: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        return self.scores[rows, cols]

    def dense(self) -> np.ndarray:
        return self.scores


def item_moments(item_factors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column sums and Gram matrix of item factors: what row moments of a low-rank block need."""
    items = np.asarray(item_factors, dtype=np.float64)
    return items.sum(axis=0), items.T @ items


class LowRankScores(ScoreParts):
    """scores = user_factors @ item_factors.T (ALS, content profiles, popularity as rank 1, ...).

    Pass `moments=item_moments(item_factors)` computed once at fit time to keep batches cheap.
    """

    def __init__(
        self,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        moments: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.user_factors = np.asarray(user_factors, dtype=np.float32)
        self.item_factors = np.asarray(item_factors, dtype=np.float32)
        self.n_items = self.item_factors.shape[0]
        self.moments = moments

    @property
    def n_rows(self) -> int:
        return self.user_factors.shape[0]

    def row_moments(self) -> tuple[np.ndarray, np.ndarray]:
        item_sum, item_gram = self.moments if self.moments is not None else item_moments(self.item_factors)
        users = self.user_factors.astype(np.float64)
        total = users @ item_sum
        total_squares = ((users @ item_gram) * users).sum(axis=1)
        return _moments(total, total_squares, self.n_items)

    def add_to(self, out: np.ndarray, scale: np.ndarray) -> None:
        out += (scale[:, None].astype(np.float32) * self.user_factors) @ self.item_factors.T

    def values_at(self, rows: np.ndarray, cols: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        return np.einsum("pr,pr->p", self.user_factors[rows], self.item_factors[cols])


try:  # scipy's C kernel behind toarray(); it accumulates into the output, which is exactly a sparse "+="
    from scipy.sparse._sparsetools import csr_todense as _csr_accumulate
except ImportError:  # pragma: no cover - private scipy API; fall back to fancy indexing
    _csr_accumulate = None


class SparseScores(ScoreParts):
    """Scores that are zero for most items (neighbourhood models, social)."""

    def __init__(self, scores: sp.spmatrix) -> None:
        self.scores = sp.csr_matrix(scores, dtype=np.float32)  # products of CSR matrices hold no duplicates
        self.n_items = self.scores.shape[1]

    @property
    def n_rows(self) -> int:
        return self.scores.shape[0]

    def _row_sums(self, values: np.ndarray) -> np.ndarray:
        indptr = self.scores.indptr
        # A trailing zero keeps every start index valid, so trailing empty rows cannot cut the last non-empty
        # row short; an empty row's "sum" is the next row's first value and is zeroed.
        sums = np.add.reduceat(np.append(values, 0.0), indptr[:-1]) if self.n_rows else np.zeros(0)
        sums[np.diff(indptr) == 0] = 0.0
        return sums

    def row_moments(self) -> tuple[np.ndarray, np.ndarray]:
        data = self.scores.data.astype(np.float64)
        return _moments(self._row_sums(data), self._row_sums(data * data), self.n_items)

    def add_to(self, out: np.ndarray, scale: np.ndarray) -> None:
        counts = np.diff(self.scores.indptr)
        values = self.scores.data * np.repeat(scale.astype(np.float32), counts)
        if _csr_accumulate is not None and out.flags.c_contiguous and out.dtype == np.float32:
            _csr_accumulate(self.n_rows, self.n_items, self.scores.indptr, self.scores.indices, values, out)
            return
        rows = np.repeat(np.arange(self.n_rows), counts)
        out[rows, self.scores.indices] += values

    def values_at(self, rows: np.ndarray, cols: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros(len(rows), dtype=np.float32)
        if not len(rows) or not self.scores.nnz:
            return out
        if scratch is not None and _csr_accumulate is not None:
            # scatter, read the pairs, scatter the negated values back: x + (-x) leaves the buffer exactly zero
            indptr, indices, data = self.scores.indptr, self.scores.indices, self.scores.data
            _csr_accumulate(self.n_rows, self.n_items, indptr, indices, data, scratch)
            out = scratch[rows, cols].astype(np.float32)
            _csr_accumulate(self.n_rows, self.n_items, indptr, indices, -data, scratch)
            return out
        stored_rows = np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.scores.indptr))
        # Few queries against many stored values: sort the queries, binary-search every stored entry in them.
        queries = np.asarray(rows, dtype=np.int64) * self.n_items + np.asarray(cols, dtype=np.int64)
        order = np.argsort(queries, kind="stable")
        sorted_queries = queries[order]
        stored = stored_rows * self.n_items + self.scores.indices
        position = np.minimum(np.searchsorted(sorted_queries, stored), len(queries) - 1)
        match = sorted_queries[position] == stored
        out_sorted = np.zeros(len(queries), dtype=np.float32)
        out_sorted[position[match]] = self.scores.data[match]
        out[order] = out_sorted
        return out


class TableScores(ScoreParts):
    """Rows shared by groups of customers: scores = table[group[row]] (e.g. one row per segment).

    Adding is cheapest when rows of a group are contiguous (callers may order customers by group).
    """

    def __init__(self, table: np.ndarray, groups: np.ndarray, table_moments: tuple | None = None) -> None:
        self.table = np.asarray(table, dtype=np.float32)
        self.groups = np.asarray(groups, dtype=np.int64)
        self.n_items = self.table.shape[1]
        if table_moments is None:
            table_moments = (self.table.mean(axis=1, dtype=np.float64), self.table.std(axis=1, dtype=np.float64))
        self.table_moments = table_moments

    @property
    def n_rows(self) -> int:
        return len(self.groups)

    def row_moments(self) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self.table_moments
        return mean[self.groups], std[self.groups]

    def add_to(self, out: np.ndarray, scale: np.ndarray) -> None:
        if not self.n_rows:
            return
        scale = scale.astype(np.float32)
        starts = np.flatnonzero(np.r_[True, (self.groups[1:] != self.groups[:-1])])
        if len(starts) * 8 <= self.n_rows:  # long runs of one group: broadcast one table row per run
            ends = np.r_[starts[1:], self.n_rows]
            for start, end in zip(starts, ends, strict=True):
                run_scale = scale[start:end]
                if (run_scale == run_scale[0]).all():  # the usual case: scale depends on the group only
                    out[start:end] += run_scale[0] * self.table[self.groups[start]]
                else:
                    out[start:end] += run_scale[:, None] * self.table[self.groups[start]]
            return
        gathered = np.take(self.table, self.groups, axis=0)
        gathered *= scale[:, None]
        out += gathered

    def values_at(self, rows: np.ndarray, cols: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
        return self.table[self.groups[rows], cols]


class Recommender(ABC):
    """Fit on `TrainingData`; score customers; explain pairs; recommend top-N in batches."""

    name: ClassVar[str] = "recommender"
    # Fitted state shared by all: n_items_, and the interactions used for "because you ..." anchors.
    n_items_: int
    n_users_: int

    @abstractmethod
    def fit(self, data: TrainingData) -> Self: ...

    @abstractmethod
    def score(self, users: np.ndarray) -> np.ndarray:
        """Dense float32 scores, shape (len(users), n_items); higher is better."""

    def refit(self, data: TrainingData, previous: Recommender | None = None) -> Self:
        """Fit on `data`, possibly reusing a fit of the same configuration on part of it (default: plain fit)."""
        return self.fit(data)

    def score_parts(self, users: np.ndarray) -> ScoreParts:
        """`score` in structured form for blending; models override it when they can avoid a dense block."""
        return DenseScores(self.score(users))

    def explain(self, users: np.ndarray, items: np.ndarray) -> ReasonArrays:
        """Reasons for pairs (users[p], items[p]); flat arrays of equal length."""
        return ReasonArrays.filled(np.shape(items), ReasonKind.PERSONALIZED)

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def recommend(
        self,
        users: np.ndarray | None = None,
        n: int = 10,
        *,
        exclude: sp.csr_matrix | None = None,
        item_mask: np.ndarray | None = None,
        with_reasons: bool = True,
        batch_size: int | None = None,
    ) -> TopN:
        """Top-n items for each customer in `users` (default: all).

        `exclude` (n_users x n_items, nonzero = never recommend, e.g. `data.purchased` or `data.seen`) and
        `item_mask` (bool per item, False = never recommend, e.g. inactive or out of stock) are applied
        before ranking, so the lists are full-length whenever enough items remain.
        """
        users = np.arange(self.n_users_) if users is None else np.asarray(users, dtype=np.int64)
        batch_size = batch_size or batch_size_for(self.n_items_)
        parts = []
        for batch in iter_batches(len(users), batch_size):
            batch_users = users[batch]
            scores = self.score(batch_users)
            parts.append(self._rank_block(batch_users, scores, n, exclude, item_mask, with_reasons))
        if not parts:
            empty = np.zeros((0, n), dtype=np.int32)
            return TopN(users, empty, empty.astype(np.float32), ReasonArrays.filled((0, n), ReasonKind.PERSONALIZED))
        return TopN.concatenate(parts)

    def _rank_block(
        self,
        users: np.ndarray,
        scores: np.ndarray,
        n: int,
        exclude: sp.csr_matrix | None,
        item_mask: np.ndarray | None,
        with_reasons: bool,
    ) -> TopN:
        if item_mask is not None:
            scores[:, ~item_mask] = -np.inf
        mask_pairs(scores, users, exclude)
        items, best = top_n(scores, n)
        reasons = ReasonArrays.filled(items.shape, ReasonKind.PERSONALIZED)
        if with_reasons:
            valid = items >= 0
            pair_users = np.broadcast_to(users[:, None], items.shape)[valid]
            reasons.assign(valid, self.explain(pair_users, items[valid]))
        return TopN(users, items, best, reasons)
