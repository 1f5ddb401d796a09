"""Offline evaluation: time-based splits, ranking accuracy, beyond-accuracy and fairness figures.

Definitions (K = list length, rel(u) = u's held-out items, hits = recommended items in rel(u)):
- precision@K = hits / K; recall@K = hits / |rel(u)|; hit rate = 1 if hits > 0;
- NDCG@K = DCG / IDCG with DCG = sum over ranks r (1-based) of 1/log2(r + 1) for hits, IDCG the DCG of
  min(K, |rel(u)|) hits at the top;
- MAP@K = mean over users of AP@K = (1 / min(K, |rel(u)|)) * sum over hit ranks r of precision@r;
  accuracy figures average over users with at least one held-out item;
- coverage = distinct recommended items / catalog size;
- novelty = mean over all recommended slots of -log2 p(i), p(i) = share of training customers who engaged
  with i (an item nobody engaged with counts as one customer);
- intra-list diversity = mean over lists of 1 - mean pairwise cosine of item vectors (or of "same category");
- Gini of exposure over all catalog items (0 = every item shown equally, -> 1 = one item takes all);
- long-tail share = share of slots given to items outside the 20 % most popular in training;
- the accuracy figures again per customer group (e.g. gender or age band), so a model that serves one group
  much worse is visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

from recommendations.engine.data import EventLog
from recommendations.engine.history import SparseLookup


def split_per_user_by_time(log: EventLog, test_fraction: float = 0.2, min_events: int = 2) -> tuple[EventLog, EventLog]:
    """Each customer's last `test_fraction` of events (by time, at least one) held out.

    Customers with fewer than `min_events` events stay entirely in training. Ties in time keep input order.
    """
    order = np.lexsort((np.arange(len(log)), log.timestamps, log.users))
    users = log.users[order]
    counts = np.bincount(users, minlength=log.n_users)
    n_test = np.where(counts >= min_events, np.maximum(1, np.round(counts * test_fraction)), 0).astype(np.int64)
    n_test = np.minimum(n_test, np.maximum(counts - 1, 0))
    ends = np.cumsum(counts)
    steps_from_end = ends[users] - 1 - np.arange(len(users))
    is_test = np.zeros(len(log), dtype=bool)
    is_test[order] = steps_from_end < n_test[users]
    return log.select(~is_test), log.select(is_test)


def split_global_by_time(log: EventLog, cutoff: float) -> tuple[EventLog, EventLog]:
    """Events before `cutoff` (unix seconds) train, events at or after it test."""
    is_test = log.timestamps >= cutoff
    return log.select(~is_test), log.select(is_test)


def cutoff_for_fraction(log: EventLog, test_fraction: float) -> float:
    """The time such that about `test_fraction` of events happen at or after it."""
    return float(np.quantile(log.timestamps, 1.0 - test_fraction))


def relevance_matrix(test: EventLog, exclude: sp.csr_matrix | None = None) -> sp.csr_matrix:
    """Customer x item 0/1 matrix of held-out items; items in `exclude` (e.g. already seen) are dropped,
    since they can never be recommended."""
    matrix = sp.csr_matrix(
        (np.ones(len(test), dtype=np.float32), (test.users, test.items)), shape=(test.n_users, test.n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    if exclude is not None:
        matrix = matrix - matrix.multiply(exclude.astype(bool))
        matrix.eliminate_zeros()
    return sp.csr_matrix(matrix)


@dataclass
class AccuracyMetrics:
    precision: float
    recall: float
    ndcg: float
    map: float
    hit_rate: float
    n_users: int


@dataclass
class EvaluationReport:
    k: int
    accuracy: AccuracyMetrics
    coverage: float
    novelty: float
    intra_list_diversity: float | None
    gini: float
    long_tail_share: float
    by_group: dict[str, AccuracyMetrics] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def per_user_accuracy(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Per-row precision/recall/ndcg/ap/hit of `recommended` (rows aligned with `relevant`'s rows)."""
    top = np.asarray(recommended)[:, :k].astype(np.int64)
    n_rows = top.shape[0]
    relevant = sp.csr_matrix(relevant)
    n_relevant = np.diff(relevant.indptr).astype(np.float64)
    rows = np.broadcast_to(np.arange(n_rows)[:, None], top.shape)
    hits = SparseLookup(relevant).get(rows, top) > 0  # -1 padding never hits
    ranks = np.arange(1, top.shape[1] + 1)
    discounts = 1.0 / np.log2(ranks + 1)
    dcg = (hits * discounts).sum(axis=1)
    ideal_len = np.minimum(n_relevant, k).astype(np.int64)
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1))])[ideal_len]
    n_hits = hits.sum(axis=1).astype(np.float64)
    precision_at_rank = np.cumsum(hits, axis=1) / ranks
    ap = np.divide((precision_at_rank * hits).sum(axis=1), ideal_len, out=np.zeros(n_rows), where=ideal_len > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "precision": n_hits / k,
            "recall": np.divide(n_hits, n_relevant, out=np.zeros(n_rows), where=n_relevant > 0),
            "ndcg": np.divide(dcg, ideal, out=np.zeros(n_rows), where=ideal > 0),
            "map": ap,
            "hit_rate": (n_hits > 0).astype(np.float64),
            "has_relevant": n_relevant > 0,
        }


def _mean_accuracy(per_user: dict[str, np.ndarray], rows: np.ndarray) -> AccuracyMetrics:
    rows = rows[per_user["has_relevant"][rows]]
    if not len(rows):
        return AccuracyMetrics(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    return AccuracyMetrics(
        precision=float(per_user["precision"][rows].mean()),
        recall=float(per_user["recall"][rows].mean()),
        ndcg=float(per_user["ndcg"][rows].mean()),
        map=float(per_user["map"][rows].mean()),
        hit_rate=float(per_user["hit_rate"][rows].mean()),
        n_users=len(rows),
    )


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values: sum_i (2i - n - 1) x_(i) / (n sum x), x sorted ascending."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * x).sum() / (n * x.sum()))


def intra_list_diversity(
    recommended: np.ndarray, *, item_vectors: np.ndarray | None = None, item_categories: np.ndarray | None = None
) -> float | None:
    """Mean over lists (of >= 2 items) of 1 - mean pairwise similarity (cosine, or 1 for same category)."""
    recommended = np.asarray(recommended)
    if recommended.ndim != 2 or recommended.shape[1] < 2:
        return None
    valid = recommended >= 0
    safe = np.maximum(recommended, 0)
    if item_vectors is not None:
        vectors = np.asarray(item_vectors, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        unit = (vectors / norms)[safe]  # (lists, K, d)
        sims = np.einsum("lid,ljd->lij", unit, unit)
    elif item_categories is not None:
        cats = np.where(valid, np.asarray(item_categories)[safe], -1)
        sims = ((cats[:, :, None] == cats[:, None, :]) & (cats[:, :, None] >= 0)).astype(np.float64)
    else:
        return None
    pairs = valid[:, :, None] & valid[:, None, :]
    sims = np.where(pairs, sims, 0.0)
    n = valid.sum(axis=1)
    scored = n >= 2
    if not scored.any():
        return None
    off_diagonal = sims.sum(axis=(1, 2)) - np.trace(sims, axis1=1, axis2=2)
    mean_pairwise = off_diagonal[scored] / (n[scored] * (n[scored] - 1))
    return float(np.mean(1.0 - mean_pairwise))


def accuracy_by_group(
    recommended: np.ndarray,
    relevant: sp.csr_matrix,
    *,
    k: int = 10,
    users: np.ndarray | None = None,
    user_groups: Mapping[int, str] | Sequence[str] | np.ndarray,
    per_user: dict[str, np.ndarray] | None = None,
) -> dict[str, AccuracyMetrics]:
    """The accuracy figures per customer group (see `evaluate_recommendations`); `per_user` may pass
    `per_user_accuracy` of the same lists to skip recomputing it."""
    recommended = np.asarray(recommended)[:, :k]
    users = np.arange(recommended.shape[0]) if users is None else np.asarray(users, dtype=np.int64)
    if per_user is None:
        per_user = per_user_accuracy(recommended, relevant[users], k)
    if isinstance(user_groups, Mapping):
        labels = np.array([user_groups.get(int(u)) for u in users], dtype=object)
    else:
        labels = np.asarray(user_groups, dtype=object)[users]
    all_rows = np.arange(len(users))
    return {
        str(label): _mean_accuracy(per_user, all_rows[labels == label])
        for label in sorted({lab for lab in labels if lab is not None and lab != ""}, key=str)
    }


def evaluate_recommendations(
    recommended: np.ndarray,
    relevant: sp.csr_matrix,
    *,
    k: int = 10,
    users: np.ndarray | None = None,
    train: sp.csr_matrix | None = None,
    item_vectors: np.ndarray | None = None,
    item_categories: np.ndarray | None = None,
    user_groups: Mapping[int, str] | Sequence[str] | np.ndarray | None = None,
    long_tail_head_fraction: float = 0.2,
) -> EvaluationReport:
    """All figures for top-K lists.

    `recommended`: (n_lists, >= K) item ids, -1 padded; row r belongs to customer `users[r]` (default: r).
    `relevant`: customer x item held-out matrix (see `relevance_matrix`). `train`: customer x item training
    interactions, for novelty and the long tail. `user_groups`: a group label per customer id (array indexed
    by customer, or a mapping); customers without a label are left out of `by_group`.
    """
    recommended = np.asarray(recommended)[:, :k]
    n_lists = recommended.shape[0]
    users = np.arange(n_lists) if users is None else np.asarray(users, dtype=np.int64)
    n_items = relevant.shape[1]
    per_user = per_user_accuracy(recommended, relevant[users], k)
    all_rows = np.arange(n_lists)
    shown = recommended[recommended >= 0]
    exposure = np.bincount(shown, minlength=n_items).astype(np.float64)
    if train is not None and train.shape[0] > 0:
        engaged_users = np.asarray((sp.csr_matrix(train) > 0).sum(axis=0)).ravel().astype(np.float64)
        n_train_users = max(int((np.diff(sp.csr_matrix(train).indptr) > 0).sum()), 1)
    else:
        engaged_users = np.zeros(n_items)
        n_train_users = 1
    probability = np.maximum(engaged_users, 1.0) / max(n_train_users, 1)
    novelty = float((-np.log2(probability[shown])).mean()) if len(shown) else 0.0
    head_size = int(np.ceil(long_tail_head_fraction * n_items))
    head = np.lexsort((np.arange(n_items), -engaged_users))[:head_size]
    in_head = np.zeros(n_items, dtype=bool)
    in_head[head] = True
    long_tail = float((~in_head[shown]).mean()) if len(shown) else 0.0
    by_group: dict[str, AccuracyMetrics] = {}
    if user_groups is not None:
        by_group = accuracy_by_group(
            recommended, relevant, k=k, users=users, user_groups=user_groups, per_user=per_user
        )
    return EvaluationReport(
        k=k,
        accuracy=_mean_accuracy(per_user, all_rows),
        coverage=float((exposure > 0).sum() / n_items) if n_items else 0.0,
        novelty=novelty,
        intra_list_diversity=intra_list_diversity(
            recommended, item_vectors=item_vectors, item_categories=item_categories
        ),
        gini=gini(exposure),
        long_tail_share=long_tail,
        by_group=by_group,
    )
