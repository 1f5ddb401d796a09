"""The product's recommender: a per-store blend of the components that help, chosen on time-ordered folds.

Fitting:
1. Components whose data exists are chosen (EASE only up to `ease_max_items`; content needs product text,
   social needs follows, segment needs customer attributes, category popularity needs categories, the
   sequential component needs event sequences that come in sessions).
2. Two time-ordered folds are carved from the training events (`blending.time_ordered_folds`: each customer's
   last 20 % of events, and the 20 % before those). Each component's hyperparameters are picked on the earlier
   fold from a small grid (same protocol as any baseline); every component is then fitted on both folds.
3. `blending.choose_blend`: the anchor is the best single component, or the even mix of the components the
   folds cannot tell from it (paired bootstrap over customers); weights tuned on each fold and judged on the
   other (cross-fitted), shrunk toward the anchor; a component stays only if it helps on every fold (paired
   bootstrap); if the blend does not beat the anchor on the held-out side, the anchor is served. `blend_`
   keeps every figure behind the decision.
4. The new-product path (below) is judged on the same folds: the served blend with and without it, each
   fold's own new products (no interactions in its training part) included. It is left out only when the
   folds show it costs held-out NDCG (paired bootstrap, `keep_support`, every fold): a product without
   history cannot prove its worth in a backtest, so no evidence of harm keeps it. `new_product_check_`.
5. Components with a non-zero weight, plus those the item widgets and cold-start paths need, are refitted on
   all the data.

Serving paths:
- known customer: sum_k w_k * normalized score_k; reason = the component contributing most to that item,
  anchored on the history item that drives it ("because you bought X");
- new product (no interactions): inherits the blended score of its most similar products by content,
  times `cold_item_weight` (content cold start), unless the folds showed that this costs accuracy;
- new customer (no history): segment popularity + popularity + trending (`new_customer_weights`);
- "similar to X" (`similar_items_batch`): co-interaction, sequential and content similarity, within X's
  top-level category when the store has a category tree.
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
from recommendations.engine.blending import (
    BlendChoice,
    bootstrap_support,
    build_fold_pool,
    choose_blend,
    time_ordered_folds,
)
from recommendations.engine.content import ContentRecommender
from recommendations.engine.data import EVENT_PURCHASE, EventLog, TrainingData
from recommendations.engine.evaluation import per_user_accuracy
from recommendations.engine.fbt import FrequentlyBoughtTogetherRecommender, basket_matrix
from recommendations.engine.history import SparseLookup, iter_batches
from recommendations.engine.reasons import REASON_CODE, Reason, ReasonArrays, ReasonKind
from recommendations.engine.segments import SegmentPopularityRecommender
from recommendations.engine.sequential import has_sessions
from recommendations.engine.tuning import DEFAULT_GRIDS, ValidationSplit, grid_search, make_recommender, sample_users

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
# Fitted whatever weight the blend gives them: the cold-start paths (new customer, new product) and the item
# widgets ("similar items", "frequently bought together") are built on them.
ALWAYS_FITTED: tuple[str, ...] = ("popularity", "trending", "segment", "sequential", "content", "item_knn", "fbt")
# Reasons that name a product of the customer's history.
ANCHORED_KINDS = (ReasonKind.BECAUSE_BOUGHT, ReasonKind.BECAUSE_VIEWED, ReasonKind.SIMILAR_TO)
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
    # New products inherit their content neighbours' blended score: None = as the folds judge it (kept when
    # nothing is judged, e.g. with fixed weights); True/False fixes it (a refit reuses an evaluation's verdict).
    new_products_inherit: bool | None = None
    validation_fraction: float = 0.2
    validation_mode: Literal["per_user", "global"] = "per_user"
    n_folds: int = 2
    k: int = 10
    weight_grid: tuple[float, ...] = DEFAULT_WEIGHT_GRID
    tuning_rounds: int = 3
    shrinkage: float = 0.25  # served weights = (1 - s) * tuned + s * anchor (the best component, or the tied mix)
    keep_support: float = 0.8  # bootstrap support a component needs on every fold to stay in the blend
    serve_support: float = 0.9  # support the blend needs over the anchor to be served
    tie_support: float = 0.9  # support the best component needs over another not to be tied with it
    max_tuning_users: int = 2000
    tuning_cells: int = 200_000_000  # caps tuning customers x items x components on big catalogs
    candidates_per_component: int = 50
    ease_max_items: int = 15_000
    cold_item_weight: float = 0.9
    cold_item_neighbors: int = 10
    new_customer_weights: Mapping[str, float] = field(
        default_factory=lambda: {"segment": 1.0, "popularity": 0.5, "trending": 0.25}
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
    """A component's chosen hyperparameters, its NDCG@K alone on each fold (earliest first), its served weight."""

    params: dict[str, Any]
    fold_ndcg: list[float] | None
    weight: float


@dataclass
class NewProductCheck:
    """The new-product path judged on the folds: the served blend's held-out NDCG@K with and without it."""

    kept: bool
    ndcg_with: list[float]  # per judged fold (those with new products), earliest first
    ndcg_without: list[float]
    support_without: float  # min over judged folds of the bootstrap support that leaving it out is better
    new_products: list[int]  # per judged fold: products without interactions in its training part


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
        if name == "sequential" and not has_sessions(data.events):
            continue
        out.append(name)
    return out


def top_level_categories(data: TrainingData) -> np.ndarray:
    """Per item, a code for the first level of its category path ("Home > Kitchen" -> "home"); -1 = unknown."""
    text = data.catalog.text if data.catalog is not None else None
    if text is None or text.categories is None:
        return np.full(data.n_items, -1, dtype=np.int32)
    tops = [(path or "").split(">")[0].strip().lower() for path in text.categories]
    labels = sorted({top for top in tops if top})
    code = {label: index for index, label in enumerate(labels)}
    return np.array([code.get(top, -1) for top in tops], dtype=np.int32)


def co_bought_pairs(log: EventLog) -> sp.csr_matrix:
    """Item x item: nonzero where two items were ever bought in one order (the diagonal included)."""
    baskets = basket_matrix(log)
    return sp.csr_matrix((baskets.T @ baskets) > 0, dtype=np.float32)


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
            self.blend_: BlendChoice | None = None
            self.new_product_check_: NewProductCheck | None = None
            if config.weights is not None:
                weights = {name: float(config.weights.get(name, 0.0)) for name in names}
            else:
                weights, params, fitted_on_validation = self._tune(data, names, params)
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
        fold_ndcg: dict[str, list[float]] = self.blend_.component_ndcg if self.blend_ is not None else {}
        for name in names:
            self.report_[name] = ComponentReport(params[name], fold_ndcg.get(name), self.weights_.get(name, 0.0))
        self.has_history_ = np.diff(data.seen.indptr) > 0
        self.item_categories_ = data.item_categories
        self.item_top_categories_ = top_level_categories(data)
        self.history_ = data.history
        self.co_bought_ = co_bought_pairs(data.events)
        self.__dict__.pop("_co_bought_lookup", None)
        self._prepare_cold_items(data, inherit=self.inherits_for_new_products)
        return self

    @property
    def inherits_for_new_products(self) -> bool:
        """Whether new products inherit their content neighbours' score: the config's setting, else the folds'."""
        if self.config.new_products_inherit is not None:
            return self.config.new_products_inherit
        check = self.new_product_check_
        return check is None or check.kept

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
    ) -> tuple[dict[str, float], dict[str, dict[str, Any]], dict[str, Recommender]]:
        """Hyperparameters on the earlier fold, then the blend over all folds (see `blending.choose_blend`).
        Returns the weights, the parameters and each component fitted on the latest fold's training part."""
        config = self.config
        folds = time_ordered_folds(data, config.validation_fraction, config.n_folds, config.validation_mode)
        max_users = min(config.max_tuning_users, max(200, config.tuning_cells // (data.n_items * max(1, len(names)))))
        fold_users = [sample_users(fold.users, max_users, config.random_state) for fold in folds]
        folds_used = [(fold, users) for fold, users in zip(folds, fold_users, strict=True) if len(users)]
        if not folds_used:
            self.blend_ = None
            return {"popularity": 1.0}, params, {}
        tune_components = config.tune_components
        if tune_components == "auto":
            tune_components = (
                len(data.events) <= config.auto_tune_max_events and data.n_items <= config.auto_tune_max_items
            )
        first_fold, first_users = folds_used[0]
        fitted: dict[str, Recommender] = {}
        for name in names:
            grid = config.component_grids.get(name) if tune_components else None
            candidates = [{**params[name], **g} for g in grid] if grid else [params[name]]

            def factory(p: Mapping[str, Any], name: str = name) -> Recommender:
                return self._make(name, p)

            self._say(f"tuning {name} ({len(candidates)} candidate(s)) on the earlier fold")
            try:
                if len(candidates) == 1:
                    chosen, model = dict(candidates[0]), factory(candidates[0]).fit(first_fold.train)
                else:
                    result, model = grid_search(factory, candidates, first_fold, k=config.k, users=first_users)
                    chosen = result.best_params
            except ValueError as error:  # e.g. no usable data for this component in the earlier part
                self._say(f"skipping {name}: {error}")
                continue
            params[name], fitted[name] = chosen, model
        pools = [build_fold_pool(fitted, first_fold, first_users, k=config.k)]
        fold_models = [(first_fold, first_users, fitted)]
        latest = fitted
        for fold, users in folds_used[1:]:
            refitted: dict[str, Recommender] = {}
            for name, model in latest.items():
                self._say(f"fitting {name} on a later fold")
                try:
                    refitted[name] = self._make(name, params[name]).refit(fold.train, model)
                except ValueError as error:
                    self._say(f"skipping {name}: {error}")
            for pool_index, pool in enumerate(pools):  # every fold scores the same components
                if set(refitted) != set(pool.names):
                    keep = [pool.names.index(n) for n in refitted]
                    pools[pool_index] = replace(pool, names=list(refitted), scores=pool.scores[keep])
            pools.append(build_fold_pool(refitted, fold, users, k=config.k))
            fold_models.append((fold, users, refitted))
            latest = refitted
        self._say(f"choosing the blend over {len(pools)} fold(s)")
        choice = choose_blend(
            pools,
            grid=config.weight_grid,
            shrinkage=config.shrinkage,
            keep_support=config.keep_support,
            serve_support=config.serve_support,
            tie_support=config.tie_support,
            rounds=config.tuning_rounds,
            random_state=config.random_state,
        )
        self.blend_ = choice
        self.new_product_check_ = self._judge_new_products(fold_models, choice.weights)
        self._say(
            f"serving {choice.decision}: "
            + ", ".join(f"{n}={w:.3g}" for n, w in choice.weights.items())
            + f" (held-out NDCG@{config.k} per fold: blend "
            + ", ".join(f"{v:.4f}" for v in choice.blend_ndcg)
            + f"; {choice.best_single} alone "
            + ", ".join(f"{v:.4f}" for v in choice.component_ndcg[choice.best_single])
            + f"; support {choice.blend_support:.2f})"
        )
        return dict(choice.weights), params, latest

    def _judge_new_products(
        self,
        folds: Sequence[tuple[ValidationSplit, np.ndarray, Mapping[str, Recommender]]],
        weights: Mapping[str, float],
    ) -> NewProductCheck | None:
        """The served weights on each fold, scored as serving scores them, with and without the new-product path.
        None when no fold has a new product with content neighbours (nothing to judge)."""
        k = self.config.k
        with_path: list[np.ndarray] = []
        without_path: list[np.ndarray] = []
        new_products: list[int] = []
        for fold, users, models in folds:
            shell = HybridRecommender(self.config)  # this fold's models, served exactly as `recommend` serves
            shell.n_users_, shell.n_items_ = fold.train.n_users, fold.train.n_items
            shell.components_ = dict(models)
            shell.weights_ = {name: w for name, w in weights.items() if name in models and w > 0}
            shell.has_history_ = np.diff(fold.train.seen.indptr) > 0
            shell._prepare_cold_items(fold.train)
            if not shell.weights_ or not shell.cold_neighbor_items_.size or not len(users):
                continue
            relevant = fold.relevant[users]
            figures = []
            for inherit in (True, False):
                if not inherit:
                    shell._prepare_cold_items(fold.train, inherit=False)
                top = shell.recommend(users, k, exclude=fold.train.seen, with_reasons=False)
                figures.append(per_user_accuracy(top.items, relevant, k)["ndcg"])
            with_path.append(figures[0])
            without_path.append(figures[1])
            new_products.append(len(shell.cold_items_))
        if not with_path:
            return None
        support = min(
            bootstrap_support(b - a, random_state=self.config.random_state)
            for a, b in zip(with_path, without_path, strict=True)
        )
        check = NewProductCheck(
            kept=support < self.config.keep_support,
            ndcg_with=[float(a.mean()) for a in with_path],
            ndcg_without=[float(b.mean()) for b in without_path],
            support_without=support,
            new_products=new_products,
        )
        self._say(
            f"new-product path {'kept' if check.kept else 'left out'}: held-out NDCG@{k} with "
            + ", ".join(f"{v:.4f}" for v in check.ndcg_with)
            + ", without "
            + ", ".join(f"{v:.4f}" for v in check.ndcg_without)
            + f" (support for leaving it out {support:.2f})"
        )
        return check

    # ------------------------------------------------------------------------------------- cold products
    def _prepare_cold_items(self, data: TrainingData, inherit: bool = True) -> None:
        """Find the products without interactions and, if `inherit`, map each to its most content-similar
        established products (whose blended score it then inherits)."""
        self.cold_items_ = np.flatnonzero(np.diff(sp.csc_matrix(data.seen).indptr) == 0).astype(np.int64)
        self.cold_neighbor_items_ = np.zeros((0, 0), dtype=np.int64)
        self.cold_neighbor_weights_ = np.zeros((0, 0), dtype=np.float32)
        self.__dict__.pop("_cold_inheritance_matrix", None)
        content = self.components_.get("content")
        if not inherit or not isinstance(content, ContentRecommender) or not len(self.cold_items_):
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
        slower). Built on first use."""
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
        self._anchor_on_related(pair_users, cols, flat)
        reasons.assign(valid, flat)

    def related(self, anchors: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each anchor may explain each item: same top-level category (when both are known) or bought
        together in some order. A reason never names an unrelated product ("because you viewed a mixing bowl"
        above a laptop)."""
        anchors, items = np.broadcast_arrays(np.asarray(anchors, np.int64), np.asarray(items, np.int64))
        tops = self.item_top_categories_
        anchor_top = np.where(anchors >= 0, tops[np.maximum(anchors, 0)], -1)
        item_top = np.where(items >= 0, tops[np.maximum(items, 0)], -1)
        same = (anchor_top == item_top) | (anchor_top < 0) | (item_top < 0)
        lookup = self.__dict__.get("_co_bought_lookup")
        if lookup is None:
            lookup = self._co_bought_lookup = SparseLookup(self.co_bought_)
        return (anchors >= 0) & (same | (lookup.get(anchors, items) > 0))

    def _anchor_on_related(self, users: np.ndarray, items: np.ndarray, reasons: ReasonArrays) -> None:
        """Re-anchor "because you viewed / bought X" and "similar to X" reasons whose X is unrelated to the item
        on the customer's strongest related history item; with none, the reason names no product."""
        anchored = np.isin(reasons.kinds, [REASON_CODE[k] for k in ANCHORED_KINDS]) & (reasons.anchors >= 0)
        wrong = np.flatnonzero(anchored & ~self.related(reasons.anchors, items))
        if not len(wrong):
            return
        history = self.history_.items[users[wrong]].astype(np.int64)  # strongest first
        targets = items[wrong][:, None]
        usable = self.related(history, targets) & (history != targets)
        found = usable.any(axis=1)
        anchors = np.where(found, history[np.arange(len(wrong)), np.argmax(usable, axis=1)], -1)
        bought = self.history_.bought(users[wrong], np.maximum(anchors, 0)) & found
        kinds = np.where(
            bought,
            REASON_CODE[ReasonKind.BECAUSE_BOUGHT],
            np.where(found, REASON_CODE[ReasonKind.BECAUSE_VIEWED], REASON_CODE[ReasonKind.PERSONALIZED]),
        )
        reasons.kinds[wrong] = kinds
        reasons.anchors[wrong] = anchors

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
            # "similar" means an alternative: from the product's own department when the store has a category
            # tree (bought-together across departments is the other widget)
            query_top = self.item_top_categories_[query]
            other_department = (self.item_top_categories_[None, :] != query_top[:, None]) & (query_top[:, None] >= 0)
            related &= ~other_department
            total[~related] = -np.inf  # never pad "similar items" with unrelated products
            empty = np.asarray(~related.any(axis=1))
            if empty.any():  # nothing known about the product at all: popular products (of its department)
                total[empty] = normalize_rows(self.components_["popularity"].score(np.zeros(1, np.int64)), "zscore")
                total[other_department & empty[:, None]] = -np.inf
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
        state["progress"] = None
        state.pop("_co_bought_lookup", None)
        return state
