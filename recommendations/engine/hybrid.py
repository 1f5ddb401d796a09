"""The product's recommender: a per-store blend of every applicable model, tuned on a time-based split.

Fitting:
1. Components whose data exists are chosen (EASE only up to `ease_max_items`; content needs product text,
   social needs follows, segment needs customer attributes, category popularity needs categories).
2. A validation split is carved from the training events by time (each customer's last 20 % by default).
   Each component's hyperparameters are picked on it from a small grid (same protocol as any baseline).
3. Every component scores the validation customers; scores are normalized per customer (z-score over the
   catalog by default) and the blend weights are found by coordinate ascent on NDCG@K, over a candidate
   pool made of each component's top items (so tuning stays cheap on large catalogs).
4. Components with a non-zero weight, plus those the cold-start paths need, are refitted on all the data.

Serving paths:
- known customer: sum_k w_k * normalized score_k; reason = the component contributing most to that item,
  anchored on the history item that drives it ("because you bought X");
- new product (no interactions): inherits the blended score of its most similar products by content,
  times `cold_item_weight` (content cold start);
- new customer (no history): segment popularity + popularity + trending (`recommend_for_new_customer`);
- anonymous session: sequential and co-interaction item-to-item from the session's views
  (`recommend_for_session`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Self

import numpy as np
import scipy.sparse as sp

from recommendations.engine.base import (
    DEFAULT_BATCH_CELLS,
    LowRankScores,
    Recommendation,
    Recommender,
    ScoreParts,
    SparseScores,
    TopN,
    blas_threads,
    mask_pairs,
    normalize_rows,
    run_batches,
    top_n,
)
from recommendations.engine.content import ContentRecommender
from recommendations.engine.data import EVENT_PURCHASE, TrainingData
from recommendations.engine.fbt import FrequentlyBoughtTogetherRecommender
from recommendations.engine.history import SparseLookup, iter_batches
from recommendations.engine.item_knn import ItemKNNRecommender
from recommendations.engine.reasons import Reason, ReasonArrays, ReasonKind
from recommendations.engine.segments import SegmentPopularityRecommender
from recommendations.engine.sequential import SequentialItemToItemRecommender
from recommendations.engine.tuning import (
    DEFAULT_GRIDS,
    TuningResult,
    ValidationSplit,
    grid_search,
    make_recommender,
    sample_users,
    validation_split,
)

DEFAULT_COMPONENTS: tuple[str, ...] = (
    "ease",
    "als",
    "item_knn",
    "sequential",
    "fbt",
    "popularity",
    "trending",
    "category_popularity",
    "content",
    "social",
    "segment",
)
# Fitted whatever weight the blend gives them: the cold-start paths (new customer, new product, anonymous
# session) and the item widgets ("similar items", "frequently bought together") are built on them.
ALWAYS_FITTED: tuple[str, ...] = ("popularity", "trending", "segment", "sequential", "content", "item_knn", "fbt")
DEFAULT_WEIGHT_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5)


@dataclass(frozen=True)
class HybridConfig:
    components: tuple[str, ...] = DEFAULT_COMPONENTS
    component_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # "auto": tune component hyperparameters on stores up to `auto_tune_max_events` events and
    # `auto_tune_max_items` products; bigger stores keep the defaults (refitting every grid candidate, e.g. four
    # dense EASE inverses, would dominate a nightly retrain) and tune the blend weights only.
    tune_components: bool | Literal["auto"] = "auto"
    auto_tune_max_events: int = 300_000
    auto_tune_max_items: int = 5_000
    component_grids: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=lambda: dict(DEFAULT_GRIDS))
    weights: Mapping[str, float] | None = None  # fixed blend weights: skips the validation split entirely
    validation_fraction: float = 0.2
    validation_mode: Literal["per_user", "global"] = "per_user"
    k: int = 10
    weight_grid: tuple[float, ...] = DEFAULT_WEIGHT_GRID
    tuning_rounds: int = 3
    max_tuning_users: int = 2000
    tuning_cells: int = 200_000_000  # caps tuning customers x items x components on big catalogs
    candidates_per_component: int = 50
    ease_max_items: int = 15_000
    cold_item_weight: float = 0.9
    cold_item_neighbors: int = 10
    new_customer_weights: Mapping[str, float] = field(
        default_factory=lambda: {"segment": 1.0, "popularity": 0.5, "trending": 0.25}
    )
    session_weights: Mapping[str, float] = field(
        default_factory=lambda: {"sequential": 1.0, "item_knn": 1.0, "content": 0.3, "popularity": 0.05}
    )
    random_state: int = 0
    n_threads: int | None = None  # BLAS threads while fitting/scoring (None: leave the process setting)
    als_threads: int = 0  # implicit's own ALS threads (0: all cores)


@dataclass
class _Blend:
    combined: np.ndarray  # (B, n_items) blended scores minus `offset`
    offset: np.ndarray  # (B,) per-customer constant of the z-scores
    parts: list[tuple[str, ScoreParts, np.ndarray, np.ndarray, float]]  # name, part, mean, std, weight


@dataclass
class ComponentReport:
    params: dict[str, Any]
    validation_ndcg: float | None
    weight: float


def available_components(data: TrainingData, config: HybridConfig) -> list[str]:
    """The configured components that this store's data can support."""
    out = []
    for name in config.components:
        if name == "ease" and data.n_items > config.ease_max_items:
            continue
        if name == "content" and (data.catalog is None or data.catalog.text is None):
            continue
        if name == "social" and (
            data.customers is None or data.customers.follows is None or data.customers.follows.nnz == 0
        ):
            continue
        if name == "segment" and (data.customers is None or data.customers.attributes is None):
            continue
        if name == "category_popularity" and not (data.item_categories >= 0).any():
            continue
        if name == "fbt" and not (data.events.event_types == EVENT_PURCHASE).any():
            continue
        out.append(name)
    return out


class HybridRecommender(Recommender):
    """Blend of components with tuned weights, cold-start paths and per-item reasons."""

    name = "hybrid"

    def __init__(self, config: HybridConfig | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.config = config or HybridConfig()
        self.progress = progress

    # ----------------------------------------------------------------------------------------------- fitting
    def fit(self, data: TrainingData, previous: HybridRecommender | None = None) -> Self:
        """Fit on `data`. `previous`, a hybrid fitted on part of the same store (same customer and product
        indices, e.g. the training part of an evaluation split), lets components with the same parameters start
        from its fit (ALS factors, the catalog's text features) instead of from scratch."""
        config = self.config
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        names = available_components(data, config)
        params = {name: dict(config.component_params.get(name, {})) for name in names}
        self.report_: dict[str, ComponentReport] = {}
        with blas_threads(config.n_threads):
            fitted_on_validation: dict[str, Recommender] = {}
            if config.weights is not None:
                weights = {name: float(config.weights.get(name, 0.0)) for name in names}
                scores: dict[str, float | None] = dict.fromkeys(names)
            else:
                weights, params, scores, fitted_on_validation = self._tune(data, names, params)
            keep = [n for n in names if weights.get(n, 0.0) > 0 or n in ALWAYS_FITTED]
            self.components_: dict[str, Recommender] = {}
            for name in keep:
                self._say(f"fitting {name} on all data")
                model = self._make(name, params[name])
                start_from = fitted_on_validation.get(name)
                if start_from is None:
                    start_from = self._previous_component(previous, model, data)
                try:
                    self.components_[name] = model.refit(data, start_from)
                except ValueError as error:  # a component this store's data cannot support after all
                    self._say(f"skipping {name}: {error}")
        self.weights_ = {n: w for n, w in weights.items() if w > 0 and n in self.components_}
        if not self.weights_:  # nothing personal helps (tiny store): fall back to popularity
            self.weights_ = {"popularity": 1.0}
        for name in names:
            self.report_[name] = ComponentReport(params[name], scores.get(name), self.weights_.get(name, 0.0))
        self.has_history_ = np.diff(data.seen.indptr) > 0
        self.item_categories_ = data.item_categories
        self._prepare_cold_items(data)
        self._lookups: dict[str, SparseLookup] = {}
        return self

    @staticmethod
    def _previous_component(
        previous: HybridRecommender | None, model: Recommender, data: TrainingData
    ) -> Recommender | None:
        """`previous`'s fit of the same component with the same parameters, if it covers the same indices."""
        if previous is None or (previous.n_users_, previous.n_items_) != (data.n_users, data.n_items):
            return None
        candidate = previous.components_.get(model.name)
        if type(candidate) is not type(model) or candidate.get_params() != model.get_params():
            return None
        return candidate

    def _make(self, name: str, params: Mapping[str, Any]) -> Recommender:
        params = dict(params)
        if name == "als":
            params.setdefault("n_threads", self.config.als_threads)
        if name in ("ease", "content") and self.config.n_threads is not None:
            params.setdefault("n_threads", self.config.n_threads)
        if name in ("als", "content"):
            params.setdefault("random_state", self.config.random_state)
        return make_recommender(name, params)

    def _say(self, message: str) -> None:
        if self.progress is not None:
            now = time.perf_counter()
            started = getattr(self, "_said_at", now)
            self._said_at = now
            self.progress(f"{message} (+{now - started:.1f}s)")

    def _tune(
        self, data: TrainingData, names: list[str], params: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, float], dict[str, dict[str, Any]], dict[str, float | None], dict[str, Recommender]]:
        config = self.config
        split = validation_split(data, config.validation_fraction, config.validation_mode)
        max_users = min(config.max_tuning_users, max(200, config.tuning_cells // (data.n_items * max(1, len(names)))))
        users = sample_users(split.users, max_users, config.random_state)
        tune_components = config.tune_components
        if tune_components == "auto":
            tune_components = (
                len(data.events) <= config.auto_tune_max_events and data.n_items <= config.auto_tune_max_items
            )
        if len(users) == 0:
            return {"popularity": 1.0}, params, dict.fromkeys(names), {}
        fitted: dict[str, Recommender] = {}
        scores: dict[str, float | None] = {}
        for name in names:
            grid = config.component_grids.get(name) if tune_components else None
            candidates = [{**params[name], **g} for g in grid] if grid else [params[name]]

            def factory(p: Mapping[str, Any], name: str = name) -> Recommender:
                return self._make(name, p)

            self._say(f"tuning {name} ({len(candidates)} candidate(s))")
            try:
                if len(candidates) == 1:  # nothing to choose: its validation NDCG comes with the blend tuning
                    result, model = TuningResult(dict(candidates[0]), np.nan), factory(candidates[0]).fit(split.train)
                else:
                    result, model = grid_search(factory, candidates, split, k=config.k, users=users)
            except ValueError as error:  # e.g. no usable data for this component in the earlier part
                self._say(f"skipping {name}: {error}")
                continue
            params[name], scores[name], fitted[name] = result.best_params, result.best_score, model
        weights = self._tune_weights(fitted, split, users, scores)
        for name in fitted:
            if scores[name] is None or np.isnan(scores[name]):  # type: ignore[arg-type]
                # a component's own top-K lies within the candidate pool, so this is its NDCG on the same users
                scores[name] = self.validation_single_ndcg_[name]
        return weights, params, scores, fitted

    def _tune_weights(
        self,
        fitted: dict[str, Recommender],
        split: ValidationSplit,
        users: np.ndarray,
        scores: dict[str, float | None],
    ) -> dict[str, float]:
        config = self.config
        names = list(fitted)
        candidates, gathered = self._candidate_pool(fitted, split, users)
        relevant = split.relevant[users]
        rows = np.broadcast_to(np.arange(len(users))[:, None], candidates.shape)
        hits = SparseLookup(relevant).get(rows, candidates) > 0
        n_relevant = np.diff(relevant.indptr)
        k = config.k
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_relevant, k)]
        valid = candidates >= 0

        def ndcg_of(blended: np.ndarray) -> float:
            blended = np.where(valid, blended, -np.inf)
            n_take = min(k, blended.shape[1])
            top = np.argpartition(-blended, n_take - 1, axis=1)[:, :n_take]
            order = np.argsort(-np.take_along_axis(blended, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            top_hits = np.take_along_axis(hits, top, axis=1) & np.take_along_axis(valid, top, axis=1)
            dcg = (top_hits * discounts[:n_take]).sum(axis=1)
            return float(np.mean(np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)))

        single = {name: ndcg_of(gathered[i]) for i, name in enumerate(names)}
        start = max(single, key=lambda n: single[n])
        weights = np.zeros(len(names))
        weights[names.index(start)] = 1.0
        blended = gathered[names.index(start)].copy()
        best = single[start]
        self._say(f"blend tuning starts from {start} (NDCG@{k} {best:.4f})")
        for _ in range(config.tuning_rounds):
            improved = False
            for i in range(len(names)):
                # coordinate ascent: only component i's weight moves, so update the blend incrementally
                rest = blended - weights[i] * gathered[i]
                for value in config.weight_grid:
                    if value == weights[i] or (value == 0 and not np.delete(weights, i).any()):
                        continue
                    quality = ndcg_of(rest + value * gathered[i])
                    if quality > best + 1e-9:
                        best, improved = quality, True
                        weights[i] = value
                        blended = rest + value * gathered[i]
            if not improved:
                break
        self._say(
            f"blend NDCG@{k} on validation {best:.4f} with "
            + ", ".join(f"{n}={w:g}" for n, w in zip(names, weights, strict=True) if w > 0)
        )
        self.validation_ndcg_ = best
        self.validation_single_ndcg_ = single
        return {name: float(w) for name, w in zip(names, weights, strict=True)}

    def _candidate_pool(
        self, fitted: dict[str, Recommender], split: ValidationSplit, users: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(users x P) candidate items (-1 pad) = union of each component's top items, and every component's
        normalized score on them, shape (n_components, users, P)."""
        names = list(fitted)
        n_items = split.train.n_items
        per_component = min(self.config.candidates_per_component, n_items)
        width = min(n_items, per_component * len(names))
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
        used = max(1, int((candidates >= 0).sum(axis=1).max()))  # pools overlap: drop the empty tail
        return candidates[:, :used], np.ascontiguousarray(gathered[:, :, :used])

    # ------------------------------------------------------------------------------------- cold products
    def _prepare_cold_items(self, data: TrainingData) -> None:
        """Map each product without interactions to its most content-similar established products."""
        self.cold_items_ = np.flatnonzero(np.diff(sp.csc_matrix(data.seen).indptr) == 0).astype(np.int64)
        self.cold_neighbor_items_ = np.zeros((0, 0), dtype=np.int64)
        self.cold_neighbor_weights_ = np.zeros((0, 0), dtype=np.float32)
        self.__dict__.pop("_cold_inheritance_matrix", None)
        content = self.components_.get("content")
        if not isinstance(content, ContentRecommender) or not len(self.cold_items_):
            return
        warm = np.setdiff1d(np.arange(self.n_items_), self.cold_items_)
        if not len(warm):
            return
        m = min(self.config.cold_item_neighbors, len(warm))
        neighbour_items, neighbour_weights = [], []
        for part in iter_batches(len(self.cold_items_), 1024):
            sims = content.embedding_[self.cold_items_[part]] @ content.embedding_[warm].T
            best = np.argpartition(-sims, m - 1, axis=1)[:, :m]
            best_sims = np.clip(np.take_along_axis(sims, best, axis=1), 0.0, None)
            totals = best_sims.sum(axis=1, keepdims=True)
            totals[totals == 0] = 1.0
            neighbour_items.append(warm[best])
            neighbour_weights.append((best_sims / totals).astype(np.float32))
        self.cold_neighbor_items_ = np.concatenate(neighbour_items)
        self.cold_neighbor_weights_ = np.concatenate(neighbour_weights)

    # ----------------------------------------------------------------------------------------- scoring
    def _blend(self, users: np.ndarray, weights: Mapping[str, float]) -> _Blend:
        """sum_k w_k * zscore_k for a batch, without densifying each model.

        A z-score (s - mean) / std differs from s / std by a per-customer constant, which cannot change a
        customer's ranking, so the dense accumulator holds sum_k (w_k / std_k) * s_k and the constant
        -sum_k w_k * mean_k / std_k is kept aside (`offset`) and added back to reported scores. All low-rank
        models are fused into one matrix product.
        """
        names = [n for n, w in weights.items() if w > 0 and n in self.components_]
        parts: list[tuple[str, ScoreParts, np.ndarray, np.ndarray, float]] = []
        scales: list[np.ndarray] = []
        offset = np.zeros(len(users), dtype=np.float64)
        for name in names:
            part = self.components_[name].score_parts(users)
            mean, std = part.row_moments()
            scale = np.divide(weights[name], std, out=np.zeros_like(std), where=std > 1e-12)
            offset -= scale * mean
            parts.append((name, part, mean, std, weights[name]))
            scales.append(scale)
        low_rank = [
            (part, scale) for (_, part, *_), scale in zip(parts, scales, strict=True) if isinstance(part, LowRankScores)
        ]
        combined = np.zeros((len(users), self.n_items_), dtype=np.float32)
        if low_rank:
            user_side = np.hstack([scale[:, None].astype(np.float32) * part.user_factors for part, scale in low_rank])
            item_side = np.hstack([part.item_factors for part, _ in low_rank])
            np.matmul(user_side, item_side.T, out=combined)
        for (_, part, *_), scale in zip(parts, scales, strict=True):
            if not isinstance(part, LowRankScores):
                part.add_to(combined, scale)
        if len(self.cold_items_) and self.cold_neighbor_items_.size:
            # a new product inherits the (full, offset-included) blend of its content neighbours
            weight = self.config.cold_item_weight
            inherited = (self._cold_inheritance() @ combined.T).T  # (B, cold): weighted sums of neighbour scores
            combined[:, self.cold_items_] = weight * inherited + ((weight - 1.0) * offset)[:, None]
        return _Blend(combined, offset, parts)

    def _cold_inheritance(self) -> sp.csr_matrix:
        """(cold products x products) sparse weights of each new product's content neighbours: one sparse
        product gathers them for a whole batch (a dense gather of batch x cold x neighbours is several times
        slower). Built on first use, so artifacts written before it existed still load."""
        matrix = self.__dict__.get("_cold_inheritance_matrix")
        if matrix is None:
            n_cold, m = self.cold_neighbor_items_.shape
            rows, cols = np.repeat(np.arange(n_cold), m), self.cold_neighbor_items_.ravel()
            matrix = sp.csr_matrix(
                (self.cold_neighbor_weights_.ravel(), (rows, cols)), shape=(n_cold, self.n_items_), dtype=np.float32
            )
            self._cold_inheritance_matrix = matrix
        return matrix

    def _weights_for(self, cold_users: bool) -> dict[str, float]:
        if not cold_users:
            return dict(self.weights_)
        weights = {n: w for n, w in self.config.new_customer_weights.items() if n in self.components_}
        return weights or {"popularity": 1.0}

    def score(self, users: np.ndarray) -> np.ndarray:
        """The blended z-scores, dense (len(users), n_items)."""
        users = np.asarray(users, dtype=np.int64)
        out = np.empty((len(users), self.n_items_), dtype=np.float32)
        for cold in (False, True):
            rows = np.flatnonzero(self.has_history_[users] != cold)
            if len(rows):
                blend = self._blend(users[rows], self._weights_for(cold))
                out[rows] = blend.combined + blend.offset[:, None].astype(np.float32)
        return out

    def recommend(
        self,
        users: np.ndarray | None = None,
        n: int = 10,
        *,
        exclude: sp.csr_matrix | None = None,
        item_mask: np.ndarray | None = None,
        with_reasons: bool = True,
        batch_size: int | None = None,
        n_jobs: int = 1,
    ) -> TopN:
        """Top-n for customers (default: all), each item with the reason of its strongest component.

        Customers without history go through the new-customer path automatically. `n_jobs` > 1 works on that
        many batches at once in threads (the heavy numpy and scipy work releases the GIL); each thread holds
        its own dense batch, so memory grows with it.
        """
        users = np.arange(self.n_users_) if users is None else np.asarray(users, dtype=np.int64)
        batch_size = batch_size or max(1, DEFAULT_BATCH_CELLS // self.n_items_)
        items_out = np.full((len(users), n), -1, dtype=np.int32)
        scores_out = np.full((len(users), n), np.nan, dtype=np.float32)
        reasons_out = ReasonArrays.filled((len(users), n), ReasonKind.PERSONALIZED)
        jobs: list[tuple[np.ndarray, dict[str, float]]] = []
        for cold in (False, True):
            rows_of_group = np.flatnonzero(self.has_history_[users] != cold)
            weights = self._weights_for(cold)
            segment = self.components_.get("segment")
            if weights.get("segment", 0) > 0 and isinstance(segment, SegmentPopularityRecommender):
                # customers of one segment side by side: their shared segment scores are added per run
                group_key = segment.combo_of_user_[users[rows_of_group]]
                rows_of_group = rows_of_group[np.argsort(group_key, kind="stable")]
            jobs += [(rows_of_group[part], weights) for part in iter_batches(len(rows_of_group), batch_size)]

        def run(job: tuple[np.ndarray, dict[str, float]]) -> None:
            rows, weights = job
            batch_users = users[rows]
            blend = self._blend(batch_users, weights)
            combined = blend.combined
            if item_mask is not None:
                combined[:, ~item_mask] = -np.inf
            mask_pairs(combined, batch_users, exclude)
            items, best = top_n(combined, n)
            best += blend.offset[:, None].astype(np.float32)
            items_out[rows], scores_out[rows] = items, best  # each job writes its own rows
            if with_reasons and blend.parts:
                reasons = ReasonArrays.filled(items.shape, ReasonKind.PERSONALIZED)
                self._explain_top(batch_users, items, blend, reasons)
                reasons_out.kinds[rows] = reasons.kinds
                reasons_out.anchors[rows] = reasons.anchors
                reasons_out.categories[rows] = reasons.categories

        run_batches(run, jobs, n_jobs)
        return TopN(users, items_out, scores_out, reasons_out)

    def _explain_top(self, users: np.ndarray, items: np.ndarray, blend: _Blend, reasons: ReasonArrays) -> None:
        """Give each listed item the reason of the component with the largest weighted z-score for it."""
        valid = items >= 0
        rows = np.broadcast_to(np.arange(len(users))[:, None], items.shape)[valid]
        cols = items[valid].astype(np.int64)
        scratch = np.zeros((len(users), self.n_items_), dtype=np.float32)
        contributions = np.stack(
            [
                weight
                * (part.values_at(rows, cols, scratch) - mean[rows])
                / np.where(std[rows] > 1e-12, std[rows], 1.0)
                for _, part, mean, std, weight in blend.parts
            ]
        )
        dominant = np.argmax(contributions, axis=0)
        is_cold = np.isin(cols, self.cold_items_)
        flat = ReasonArrays.filled(cols.shape, ReasonKind.PERSONALIZED)
        pair_users = users[rows]
        for c, (name, *_rest) in enumerate(blend.parts):
            chosen = (dominant == c) & ~is_cold
            if chosen.any():
                flat.assign(chosen, self.components_[name].explain(pair_users[chosen], cols[chosen]))
        if is_cold.any() and "content" in self.components_:
            flat.assign(is_cold, self.components_["content"].explain(pair_users[is_cold], cols[is_cold]))
        reasons.assign(valid, flat)

    # ------------------------------------------------------------------------------- cold-start paths
    def recommend_for_new_customer(
        self, attributes: Sequence[int] | np.ndarray | None = None, n: int = 10, *, item_mask: np.ndarray | None = None
    ) -> list[Recommendation]:
        """A customer with no history: popular with their segment (if attributes are known), popular, trending.

        `attributes` are codes in the same columns as `CustomerInfo.attributes` (-1 for unknown).
        """
        total = np.zeros(self.n_items_, dtype=np.float32)
        parts: list[tuple[str, np.ndarray]] = []
        for name, weight in self._weights_for(True).items():
            model = self.components_[name]
            if isinstance(model, SegmentPopularityRecommender):
                if attributes is None:
                    continue
                raw = model.score_attributes(np.asarray(attributes)[None, :])
            else:
                raw = model.score(np.zeros(1, dtype=np.int64))
            block = normalize_rows(raw.astype(np.float32), "zscore")[0] * weight
            total += block
            parts.append((name, block))
        return self._single_list(total, parts, n, item_mask, exclude=())

    def recommend_for_session(
        self, items: Sequence[int], n: int = 10, *, item_mask: np.ndarray | None = None
    ) -> list[Recommendation]:
        """An anonymous visitor: items engaged with right after / together with the session's views.

        `items` are the session's viewed items in time order (latest last). Falls back to popularity.
        """
        items = [int(i) for i in items if 0 <= int(i) < self.n_items_]
        if not items:
            return self.recommend_for_new_customer(None, n, item_mask=item_mask)
        total = np.zeros(self.n_items_, dtype=np.float32)
        parts: list[tuple[str, np.ndarray]] = []
        for name, weight in self.config.session_weights.items():
            model = self.components_.get(name)
            if model is None or weight <= 0:
                continue
            if isinstance(model, SequentialItemToItemRecommender | ItemKNNRecommender | ContentRecommender):
                raw = model.score_items(items)
            else:
                raw = model.score(np.zeros(1, dtype=np.int64))[0]
            block = normalize_rows(raw[None, :].astype(np.float32), "zscore")[0] * weight
            total += block
            parts.append((name, block))
        recommendations = self._single_list(total, parts, n, item_mask, exclude=items)
        return [self._anchor_on_session(rec, items) for rec in recommendations]

    def _anchor_on_session(self, rec: Recommendation, session: list[int]) -> Recommendation:
        if rec.reason.kind not in (ReasonKind.PERSONALIZED, ReasonKind.SIMILAR_TO, ReasonKind.BECAUSE_VIEWED):
            return rec
        strength = np.zeros(len(session), dtype=np.float32)
        for name in ("sequential", "item_knn"):
            model = self.components_.get(name)
            if model is None:
                continue
            lookup = self._lookup(name, model.similarity_)  # type: ignore[attr-defined]
            strength += lookup.get(np.asarray(session), np.full(len(session), rec.item))
        if strength.max() > 0:
            anchor = session[int(np.argmax(strength))]
            return replace(rec, reason=replace(rec.reason, kind=ReasonKind.BECAUSE_VIEWED, anchor_item=anchor))
        content = self.components_.get("content")
        if isinstance(content, ContentRecommender):
            sims = content.embedding_[np.asarray(session)] @ content.embedding_[rec.item]
            if sims.max() > 0:
                anchor = session[int(np.argmax(sims))]
                return replace(rec, reason=replace(rec.reason, kind=ReasonKind.SIMILAR_TO, anchor_item=anchor))
        return rec

    def _lookup(self, name: str, matrix: sp.csr_matrix) -> SparseLookup:
        if name not in self._lookups:
            self._lookups[name] = SparseLookup(matrix)
        return self._lookups[name]

    def _single_list(
        self,
        total: np.ndarray,
        parts: list[tuple[str, np.ndarray]],
        n: int,
        item_mask: np.ndarray | None,
        exclude: Sequence[int],
    ) -> list[Recommendation]:
        scores = total[None, :].copy()
        if item_mask is not None:
            scores[:, ~item_mask] = -np.inf
        if len(exclude):
            scores[0, np.asarray(exclude, dtype=np.int64)] = -np.inf
        top, best = top_n(scores, n)
        top, best = top[0], best[0]
        valid = top >= 0
        reasons = ReasonArrays.filled(top.shape, ReasonKind.POPULAR)
        if parts and valid.any():
            contributions = np.stack([block[np.maximum(top, 0)] for _, block in parts])
            dominant = np.argmax(contributions, axis=0)
            for c, (name, _) in enumerate(parts):
                chosen = valid & (dominant == c)
                if not chosen.any():
                    continue
                model = self.components_[name]
                if isinstance(model, SequentialItemToItemRecommender | ItemKNNRecommender):
                    sub = ReasonArrays.filled((int(chosen.sum()),), ReasonKind.BECAUSE_VIEWED)
                elif isinstance(model, ContentRecommender):
                    sub = ReasonArrays.filled((int(chosen.sum()),), ReasonKind.SIMILAR_TO)
                else:
                    sub = model.explain(np.zeros(int(chosen.sum()), dtype=np.int64), top[chosen])
                reasons.assign(chosen, sub)
        return [Recommendation(int(top[i]), float(best[i]), reasons.at(i)) for i in range(len(top)) if top[i] >= 0]

    # ---------------------------------------------------------------------------------- item widgets
    def similar_items_batch(
        self,
        items: Sequence[int] | np.ndarray,
        n: int = 10,
        *,
        item_mask: np.ndarray | None = None,
        n_jobs: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """ "Similar to X" for many products at once: (len(items), n) neighbour ids (-1 pad) and scores.

        Each product's co-interaction and sequential neighbours are blended (z-scores) with its content
        similarity; a product nobody has interacted with yet gets content similarity alone. Use this to
        precompute the widget for a whole catalog; it is batched (and threaded) like `recommend`.
        """
        items = np.asarray(items, dtype=np.int64)
        out_items = np.full((len(items), n), -1, dtype=np.int32)
        out_scores = np.full((len(items), n), np.nan, dtype=np.float32)
        is_cold = np.isin(items, self.cold_items_)
        content = self.components_.get("content")
        sparse_models = [
            m for m in (self.components_.get("item_knn"), self.components_.get("sequential")) if m is not None
        ]

        def run(part: slice) -> None:
            query = items[part]
            # sum_k zscore_k = sum_k s_k / std_k - sum_k mean_k / std_k: the dense block holds the first sum (the
            # content part straight from a scaled matrix product), `offset` the per-product constant, added back
            # to the reported scores (it cannot change a ranking). Moments come from the factors and the sparse
            # rows, so no component is densified and normalized separately.
            total = np.zeros((len(query), self.n_items_), dtype=np.float32)
            related = np.zeros((len(query), self.n_items_), dtype=bool)  # some positive similarity
            offset = np.zeros(len(query), dtype=np.float64)
            if isinstance(content, ContentRecommender):
                low_rank = LowRankScores(content.embedding_[query], content.embedding_, content.item_moments_)
                mean, std = low_rank.row_moments()
                scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > 1e-12)
                np.matmul(scale[:, None].astype(np.float32) * low_rank.user_factors, content.embedding_.T, out=total)
                # raw similarity > 1e-6, in scaled units (a constant row is related everywhere or nowhere)
                threshold = np.where(scale > 0, 1e-6 * scale, np.where(mean > 1e-6, -np.inf, np.inf))
                np.greater(total, threshold[:, None].astype(np.float32), out=related)
                offset -= mean * scale
            for model in sparse_models:
                rows = model.similarity_[query]  # type: ignore[attr-defined]
                if is_cold[part].any():  # no co-interaction evidence for new products
                    rows = sp.csr_matrix(sp.diags((~is_cold[part]).astype(np.float32)) @ rows)
                    rows.eliminate_zeros()
                sparse = SparseScores(rows)
                mean, std = sparse.row_moments()
                scale = np.divide(1.0, std, out=np.zeros_like(std), where=std > 1e-12)
                sparse.add_to(total, scale)
                offset -= mean * scale
                positive = sparse.scores.data > 1e-6
                entry_rows = np.repeat(np.arange(len(query)), np.diff(sparse.scores.indptr))
                related[entry_rows[positive], sparse.scores.indices[positive]] = True
            total[~related] = -np.inf  # never pad "similar items" with unrelated products
            empty = ~related.any(axis=1)
            if empty.any():  # nothing known about the product at all: popular products instead
                total[empty] = normalize_rows(self.components_["popularity"].score(np.zeros(1, np.int64)), "zscore")
                offset[empty] = 0.0
            if item_mask is not None:
                total[:, ~item_mask] = -np.inf
            total[np.arange(len(query)), query] = -np.inf
            top, best = top_n(total, n)
            out_items[part], out_scores[part] = top, best + offset[:, None].astype(np.float32)

        run_batches(run, list(iter_batches(len(items), max(1, DEFAULT_BATCH_CELLS // self.n_items_))), n_jobs)
        return out_items, out_scores

    def similar_items(self, item: int, n: int = 10, *, item_mask: np.ndarray | None = None) -> list[Recommendation]:
        """ "Similar to X" for one product (see `similar_items_batch`), each with reason SIMILAR_TO X."""
        neighbours, scores = self.similar_items_batch([item], n, item_mask=item_mask)
        reason = Reason(ReasonKind.SIMILAR_TO, anchor_item=int(item))
        return [
            Recommendation(int(i), float(s), reason) for i, s in zip(neighbours[0], scores[0], strict=True) if i >= 0
        ]

    def bought_together_batch(self, items: Sequence[int] | np.ndarray, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """ "Frequently bought with X" for many products: (len(items), n) ids (-1 pad) and lift (or confidence)."""
        model = self.components_.get("fbt")
        if not isinstance(model, FrequentlyBoughtTogetherRecommender):
            empty = np.full((len(items), n), -1, dtype=np.int32)
            return empty, np.full((len(items), n), np.nan, dtype=np.float32)
        return model.bought_together(np.asarray(items), n)

    def bought_together(self, item: int, n: int = 10) -> list[Recommendation]:
        """ "Frequently bought with X" from order baskets (lift); empty when the store has no baskets."""
        model = self.components_.get("fbt")
        if not isinstance(model, FrequentlyBoughtTogetherRecommender):
            return []
        items, strengths = model.bought_together([item], n)
        reason = Reason(ReasonKind.BOUGHT_TOGETHER, anchor_item=item)
        return [Recommendation(int(i), float(s), reason) for i, s in zip(items[0], strengths[0], strict=True) if i >= 0]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_lookups"] = {}
        state["progress"] = None
        return state
