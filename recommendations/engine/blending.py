"""Choosing a blend that cannot lose to its best component, and never decides a near-tie by a hair.

The data a store trains on is cut into time-ordered folds (`time_ordered_folds`: the later fold holds each
customer's last events, the earlier fold the events just before them). On every fold each component ranks a
candidate pool (`FoldPool`) so any weighting can be scored per customer without refitting anything. Then
(`choose_blend`):

1. the best single component is the one with the highest NDCG@K averaged over the folds; the components it does
   not beat with bootstrap support `tie_support` (paired over customers, the folds pooled) are *tied* with it,
   and the anchor is the even mix of the tied components (the best alone when nothing ties, or when the folds
   tell that the mix is worse than the best). Two components the folds cannot tell apart are blended, never
   chosen between by a hair that the next retrain may flip;
2. blend weights are tuned on each fold by coordinate ascent starting from the anchor, and every fold is judged
   with the weights tuned on the *other* folds (cross-fitting: never the slice they were tuned on), shrunk
   toward the anchor;
3. a component outside the anchor stays only if removing it lowers that held-out NDCG on every fold, by a
   paired bootstrap over customers (support = share of resamples in which it helps); the weakest one goes
   first, then the rest are judged again;
4. the blend is served only if it beats the anchor on the held-out side of every fold with enough bootstrap
   support; otherwise the anchor is served (the best component alone, or the even mix of the tied ones).

The weights served are the folds' tuned weights averaged (each normalized to sum 1) and shrunk toward the
anchor: w = (1 - shrinkage) * w_blend + shrinkage * anchor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from recommendations.engine.base import DEFAULT_BATCH_CELLS, Recommender, mask_pairs, normalize_rows, top_n
from recommendations.engine.data import TrainingData
from recommendations.engine.history import SparseLookup, iter_batches
from recommendations.engine.tuning import ValidationSplit, validation_split


def time_ordered_folds(
    data: TrainingData, fraction: float = 0.2, n_folds: int = 2, mode: Literal["per_user", "global"] = "per_user"
) -> list[ValidationSplit]:
    """`n_folds` validation splits, earliest first: the last carves each customer's last `fraction` of events
    (or a global time cut) from `data`, each earlier one the same fraction from the previous one's training part."""
    folds: list[ValidationSplit] = []
    current = data
    for _ in range(n_folds):
        split = validation_split(current, fraction, mode)
        folds.append(split)
        current = split.train
    return folds[::-1]


@dataclass
class FoldPool:
    """One fold's candidate items per customer (the union of every component's top items) and each component's
    per-customer z-scores on them, so a weighting's NDCG@K per customer costs one partial sort."""

    names: list[str]
    users: np.ndarray
    candidates: np.ndarray  # (U, P) item ids, -1 pad
    scores: np.ndarray  # (C, U, P) float32 z-scores
    hits: np.ndarray  # (U, P) bool: candidate is a held-out item of the customer
    ideal: np.ndarray  # (U,) ideal DCG@K
    k: int

    @property
    def n_users(self) -> int:
        return len(self.users)

    def ndcg(self, weights: np.ndarray) -> np.ndarray:
        """Per-customer NDCG@K of the blend sum_c weights[c] * z-score_c (weights aligned with `names`)."""
        blended = np.tensordot(np.asarray(weights, dtype=np.float32), self.scores, axes=1)
        return self._ndcg_of(blended)

    def _ndcg_of(self, blended: np.ndarray) -> np.ndarray:
        valid = self.candidates >= 0
        blended = np.where(valid, blended, -np.inf)
        n_take = min(self.k, blended.shape[1])
        top = np.argpartition(-blended, n_take - 1, axis=1)[:, :n_take]
        order = np.argsort(-np.take_along_axis(blended, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_hits = np.take_along_axis(self.hits & valid, top, axis=1)
        discounts = 1.0 / np.log2(np.arange(2, n_take + 2))
        dcg = (top_hits * discounts).sum(axis=1)
        return np.divide(dcg, self.ideal, out=np.zeros_like(dcg), where=self.ideal > 0)


def build_fold_pool(
    fitted: Mapping[str, Recommender],
    split: ValidationSplit,
    users: np.ndarray,
    *,
    k: int = 10,
    per_component: int = 50,
) -> FoldPool:
    """Score `users` of `split` with every fitted component; keep each one's top `per_component` unseen items."""
    names = list(fitted)
    n_items = split.train.n_items
    per_component = min(per_component, n_items)
    width = min(n_items, per_component * max(1, len(names)))
    candidates = np.full((len(users), width), -1, dtype=np.int64)
    gathered = np.zeros((len(names), len(users), width), dtype=np.float32)
    batch = max(1, DEFAULT_BATCH_CELLS // (n_items * max(1, len(names))))
    for part in iter_batches(len(users), batch):
        batch_users = users[part]
        blocks = [normalize_rows(fitted[name].score(batch_users), "zscore") for name in names]
        pool = np.zeros((len(batch_users), n_items), dtype=bool)
        for block in blocks:
            masked = block.copy()
            mask_pairs(masked, batch_users, split.train.seen)
            top, _ = top_n(masked, per_component)
            rows = np.broadcast_to(np.arange(len(batch_users))[:, None], top.shape)
            pool[rows[top >= 0], top[top >= 0]] = True
        for r in range(len(batch_users)):
            items = np.flatnonzero(pool[r])
            candidates[part.start + r, : len(items)] = items
        safe = np.maximum(candidates[part], 0)
        for c, block in enumerate(blocks):
            gathered[c, part] = np.take_along_axis(block, safe, axis=1)
    used = max(1, int((candidates >= 0).sum(axis=1).max())) if len(users) else 1
    candidates, gathered = candidates[:, :used], np.ascontiguousarray(gathered[:, :, :used])
    relevant = split.relevant[users]
    rows = np.broadcast_to(np.arange(len(users))[:, None], candidates.shape)
    hits = SparseLookup(relevant).get(rows, candidates) > 0
    discounts = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    ideal = discounts[np.minimum(np.diff(relevant.indptr), k)]
    return FoldPool(names, np.asarray(users), candidates, gathered, hits, ideal, k)


def bootstrap_support(differences: np.ndarray, n_resamples: int = 400, random_state: int = 0) -> float:
    """Share of bootstrap resamples of customers in which the mean paired difference is positive."""
    differences = np.asarray(differences, dtype=np.float64)
    if not len(differences):
        return 0.0
    rng = np.random.default_rng(random_state)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 100):  # 100 resamples at a time keeps the index matrix small
        stop = min(n_resamples, start + 100)
        means[start:stop] = differences[rng.integers(0, len(differences), (stop - start, len(differences)))].mean(1)
    return float((means > 0).mean())


def ascend(
    pool: FoldPool, start: np.ndarray, allowed: np.ndarray, grid: Sequence[float], rounds: int = 3
) -> np.ndarray:
    """Coordinate ascent on the pool's mean NDCG@K over the weights of `allowed` components, from `start`."""
    weights = np.where(allowed, start, 0.0).astype(np.float64)
    blended = np.tensordot(weights.astype(np.float32), pool.scores, axes=1)
    best = float(pool._ndcg_of(blended).mean())
    for _ in range(rounds):
        improved = False
        for c in np.flatnonzero(allowed):
            rest = blended - np.float32(weights[c]) * pool.scores[c]
            for value in grid:
                if value == weights[c] or (value == 0 and not np.delete(weights, c).any()):
                    continue
                candidate = rest + np.float32(value) * pool.scores[c]
                quality = float(pool._ndcg_of(candidate).mean())
                if quality > best + 1e-9:
                    best, improved, weights[c], blended = quality, True, value, candidate
        if not improved:
            break
    return weights


def _normalized(weights: np.ndarray) -> np.ndarray:
    total = weights.sum()
    return weights / total if total > 0 else weights


def _shrunk(weights: np.ndarray, anchor: np.ndarray, shrinkage: float) -> np.ndarray:
    return (1.0 - shrinkage) * _normalized(weights) + shrinkage * anchor


def paired_support(better: Sequence[np.ndarray], worse: Sequence[np.ndarray], random_state: int = 0) -> float:
    """Bootstrap support that `better` beats `worse`, per-customer figures of every fold pooled (paired by fold
    and customer): the customers of all folds together give the tightest interval the folds allow."""
    return bootstrap_support(
        np.concatenate([b - w for b, w in zip(better, worse, strict=True)]), random_state=random_state
    )


def tied_with_leader(
    per_customer: Sequence[Sequence[np.ndarray]], leader: int, tie_support: float, random_state: int = 0
) -> np.ndarray:
    """Components whose held-out NDCG the leader does not beat with `tie_support` (`per_customer[f][c]`: fold f,
    component c): the folds cannot tell them from the leader, so a hair must not decide between them."""
    n = len(per_customer[0])
    leader_figures = [fold[leader] for fold in per_customer]
    return np.array(
        [
            c == leader
            or paired_support(leader_figures, [fold[c] for fold in per_customer], random_state) < tie_support
            for c in range(n)
        ]
    )


@dataclass
class BlendChoice:
    """What `choose_blend` decided, and the figures that show why (NDCG@K per fold, earliest fold first)."""

    weights: dict[str, float]  # the weights to serve (non-zero only)
    best_single: str  # the component with the highest held-out NDCG@K (mean over folds)
    served_anchor: bool  # True: the anchor is served, without the other components
    component_ndcg: dict[str, list[float]]  # each component alone, per fold
    blend_ndcg: list[float]  # the blend per fold, with weights tuned on the other folds (held out)
    blend_support: float  # min over folds of the bootstrap support of "blend beats the anchor"
    tied: list[str] = field(default_factory=list)  # components the folds cannot tell from the best (itself first)
    anchor: dict[str, float] = field(default_factory=dict)  # equal mix of `tied`: shrinkage target and fallback
    component_support: dict[str, float] = field(default_factory=dict)  # min over folds, for judged components
    dropped: list[str] = field(default_factory=list)  # judged and removed, in order
    fold_users: list[int] = field(default_factory=list)

    @property
    def decision(self) -> str:
        """What is served, in a few words: "ease alone", "item_knn + sequential (tied)" or "blend"."""
        if not self.served_anchor:
            return "blend"
        if len(self.anchor) == 1:
            return f"{next(iter(self.anchor))} alone"
        return " + ".join(self.anchor) + " (tied)"


def choose_blend(
    pools: Sequence[FoldPool],
    *,
    grid: Sequence[float],
    shrinkage: float = 0.25,
    keep_support: float = 0.8,
    serve_support: float = 0.9,
    tie_support: float = 0.9,
    rounds: int = 3,
    random_state: int = 0,
) -> BlendChoice:
    """Weights for the components of `pools` (same names in every pool), chosen as the module docstring says.

    With a single fold nothing can be checked on held-out customers, so the best component is served alone.
    """
    names = pools[0].names
    n = len(names)
    per_customer = [[pool.ndcg(np.eye(n)[c]) for c in range(n)] for pool in pools]  # [fold][component] (users,)
    single = np.array([[figures.mean() for figures in fold] for fold in per_customer])  # (folds, C)
    best = int(np.argmax(single.mean(axis=0)))
    component_ndcg = {name: [float(v) for v in single[:, c]] for c, name in enumerate(names)}
    tied = np.eye(n, dtype=bool)[best]
    if len(pools) >= 2 and n >= 2:
        tied = tied_with_leader(per_customer, best, tie_support, random_state)
        mix = _normalized(tied.astype(np.float64))
        mix_figures = [pool.ndcg(mix) for pool in pools]
        # the even mix of the tied components stands in for the best only if the folds cannot tell it is worse
        if paired_support([fold[best] for fold in per_customer], mix_figures, random_state) >= tie_support:
            tied = np.eye(n, dtype=bool)[best]
    anchor = _normalized(tied.astype(np.float64))
    order = [best, *(c for c in np.argsort(-single.mean(axis=0)) if tied[c] and c != best)]

    def result(weights: np.ndarray, blend: list[float], support: float, served_anchor: bool, **extra) -> BlendChoice:
        return BlendChoice(
            weights={names[c]: float(weights[c]) for c in np.flatnonzero(weights > 0)},
            best_single=names[best],
            served_anchor=served_anchor,
            component_ndcg=component_ndcg,
            blend_ndcg=blend,
            blend_support=support,
            tied=[names[c] for c in order],
            anchor={names[c]: float(anchor[c]) for c in order},
            fold_users=[pool.n_users for pool in pools],
            **extra,
        )

    if len(pools) < 2 or n < 2:
        return result(anchor, [float(v) for v in single[:, best]], 0.0, True)

    anchor_figures = [pool.ndcg(anchor) for pool in pools]
    allowed = np.ones(n, dtype=bool)
    tuned = [anchor.copy() for _ in pools]
    dropped: list[str] = []
    support_of: dict[str, float] = {}
    while True:
        tuned = [
            ascend(pool, np.where(allowed, w, 0.0), allowed, grid, rounds) for pool, w in zip(pools, tuned, strict=True)
        ]
        # components no fold gives weight leave quietly: nothing to judge
        allowed &= np.any([w > 0 for w in tuned], axis=0)
        held_out = [
            _shrunk(np.mean([_normalized(w) for g, w in enumerate(tuned) if g != f], axis=0), anchor, shrinkage)
            for f in range(len(pools))
        ]
        blend = [pool.ndcg(w) for pool, w in zip(pools, held_out, strict=True)]
        support_of = {}
        for c in np.flatnonzero(allowed & ~tied):  # the anchor's components are not judged one by one
            support_of[names[c]] = min(
                bootstrap_support(b - pool.ndcg(np.where(np.arange(n) == c, 0.0, w)), random_state=random_state)
                for pool, w, b in zip(pools, held_out, blend, strict=True)
            )
        weakest = min(support_of, key=lambda name: support_of[name], default=None)
        if weakest is None or support_of[weakest] >= keep_support:
            break
        dropped.append(weakest)
        allowed[names.index(weakest)] = False

    served = _shrunk(np.mean([_normalized(w) for w in tuned], axis=0), anchor, shrinkage)
    blend_means = [float(b.mean()) for b in blend]
    support = min(
        bootstrap_support(b - a, random_state=random_state) for a, b in zip(anchor_figures, blend, strict=True)
    )
    if (allowed | tied).sum() < 2 or support < serve_support:
        return result(anchor, blend_means, support, True, component_support=support_of, dropped=dropped)
    return result(served, blend_means, support, False, component_support=support_of, dropped=dropped)
