"""The blend cannot lose to its best component: noise is left out, a store where EASE alone is best gets EASE alone,
two components the folds cannot tell apart are blended, not chosen between by a hair, and new products are not
pushed into lists where the folds show that this costs accuracy.

The store: 480 customers in 12 taste clusters of 20 products each; every customer interacts with 10 products of
their cluster at random times over 90 days (no sessions), every product about equally often, so popularity and
trending carry no signal; product text is random words, so content carries none either.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pytest

from recommendations.engine.base import Recommender
from recommendations.engine.blending import BlendChoice, FoldPool, bootstrap_support, choose_blend
from recommendations.engine.data import Catalog, EventLog, InteractionConfig, ItemText, TrainingData
from recommendations.engine.ease import EASERecommender
from recommendations.engine.hybrid import DEFAULT_WEIGHT_GRID, HybridConfig, HybridRecommender
from recommendations.engine.tuning import RECOMMENDERS

DAY = 86_400.0
N_CLUSTERS, CLUSTER_ITEMS, PER_CLUSTER_USERS = 12, 20, 40


def cluster_store(seed: int = 1) -> TrainingData:
    rng = np.random.default_rng(seed)
    n_users, n_items = N_CLUSTERS * PER_CLUSTER_USERS, N_CLUSTERS * CLUSTER_ITEMS
    users, items = [], []
    for user in range(n_users):
        cluster = user // PER_CLUSTER_USERS
        chosen = cluster * CLUSTER_ITEMS + rng.choice(CLUSTER_ITEMS, size=10, replace=False)
        users += [user] * len(chosen)
        items += chosen.tolist()
    times = 1.7e9 + rng.uniform(0, 90, len(users)) * DAY
    log = EventLog(n_users, n_items, users, items, ["purchase"] * len(users), times)
    words = [f"word{k}" for k in range(500)]
    text = ItemText(names=[" ".join(rng.choice(words, 4)) for _ in range(n_items)])
    return TrainingData(log, InteractionConfig.binary(), Catalog(n_items, text=text))


class NoiseRecommender(Recommender):
    """Scores that carry no information at all: a fresh random number per customer and product."""

    name = "noise"

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, data: TrainingData) -> Self:
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        self.table_ = np.random.default_rng(self.random_state).random((data.n_users, data.n_items), np.float32)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.table_[users].copy()


@pytest.fixture(scope="module")
def store() -> TrainingData:
    return cluster_store()


def test_a_pure_noise_component_is_left_out_of_the_served_blend(store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(RECOMMENDERS, "noise", NoiseRecommender)  # type: ignore[index]
    config = HybridConfig(components=("item_knn", "ease", "noise", "popularity"), n_threads=1, als_threads=1)
    model = HybridRecommender(config).fit(store)

    assert "noise" not in model.weights_
    assert "noise" not in model.components_  # not even fitted on all data
    # staff still see why: the noise was judged on every fold, and it is far below the best component there
    noise, best = model.report_["noise"].fold_ndcg, model.report_[model.blend_.best_single].fold_ndcg
    assert noise is not None and best is not None
    assert all(n < b / 2 for n, b in zip(noise, best, strict=True))


def test_a_store_where_ease_alone_is_best_is_served_ease_alone(store) -> None:  # type: ignore[no-untyped-def]
    config = HybridConfig(components=("ease", "popularity", "trending", "content"), n_threads=1, als_threads=1)
    model = HybridRecommender(config).fit(store)

    assert model.weights_ == {"ease": 1.0}
    assert model.blend_.decision == "ease alone" and model.blend_.best_single == "ease"
    # and its lists are exactly those of EASE fitted alone with the chosen regularization
    alone = EASERecommender(**model.report_["ease"].params).fit(store)
    users = np.arange(store.n_users)
    np.testing.assert_array_equal(
        model.recommend(users, 10, exclude=store.seen, with_reasons=False).items,
        alone.recommend(users, 10, exclude=store.seen, with_reasons=False).items,
    )


def test_new_products_nobody_takes_up_are_not_pushed_where_the_folds_show_it_costs_accuracy() -> None:
    # The cluster store plus 3 new products per cluster, described like the cluster's own products (so content
    # finds them close to what its customers like) but never bought, viewed or carted by anyone.
    rng = np.random.default_rng(2)
    base = cluster_store()
    n_old, per_cluster_new = base.n_items, 3
    new_products = np.arange(n_old, n_old + N_CLUSTERS * per_cluster_new)
    cluster_of = np.concatenate([np.arange(n_old) // CLUSTER_ITEMS, (new_products - n_old) // per_cluster_new])
    words = ["a", "b", "c"]
    text = ItemText(names=[f"cluster{c} range{c} style{c} " + " ".join(rng.choice(words, 2)) for c in cluster_of])
    log = base.events
    events = EventLog(base.n_users, len(cluster_of), log.users, log.items, log.event_types, log.timestamps)
    store = TrainingData(events, InteractionConfig.binary(), Catalog(len(cluster_of), text=text))
    config = HybridConfig(components=("item_knn", "ease", "content", "popularity"), n_threads=1, als_threads=1)
    model = HybridRecommender(config).fit(store)

    check = model.new_product_check_
    assert check is not None and not check.kept
    assert all(without > with_ for with_, without in zip(check.ndcg_with, check.ndcg_without, strict=True))
    listed = model.recommend(np.arange(store.n_users), 10, exclude=store.seen, with_reasons=False).items
    assert not np.isin(listed, new_products).any()
    assert set(model.cold_items_.tolist()) == set(new_products.tolist())  # still known as new (similar items)

    # a refit with the evaluation's weights (as the nightly retrain does) keeps that verdict
    refit = HybridConfig(
        components=config.components,
        weights=model.weights_,
        new_products_inherit=model.inherits_for_new_products,
        n_threads=1,
        als_threads=1,
    )
    listed = HybridRecommender(refit).fit(store).recommend(np.arange(store.n_users), 10, exclude=store.seen).items
    assert not np.isin(listed, new_products).any()


def test_bootstrap_support_tells_a_real_gain_from_none() -> None:
    rng = np.random.default_rng(0)
    assert bootstrap_support(rng.normal(0.05, 0.2, 2000)) > 0.99  # a gain of a quarter standard deviation
    assert bootstrap_support(rng.normal(-0.05, 0.2, 2000)) < 0.01
    assert bootstrap_support(np.zeros(0)) == 0.0


# -- near-ties, on fold pools built by hand ------------------------------------------------------------------------
# Each fold: customers in pairs with the same 3 relevant products among 30 candidates. Components "a" and "b" see
# the relevant products through independent noise, and for each pair "a" gets the first draw for the first customer
# and the second for the second, "b" the other way round: both rank every pair exactly as well, making different
# mistakes (so equally good, and not copies of each other). "noise" is pure noise; "weak" sees the relevant
# products through much more noise.
PAIRS, CANDIDATES, RELEVANT, K = 300, 30, 3, 10


def _fold(rng: np.random.Generator, signal: dict[str, float]) -> dict[str, np.ndarray]:
    pair_hits = np.zeros((PAIRS, CANDIDATES))
    for pair in range(PAIRS):
        pair_hits[pair, rng.choice(CANDIDATES, RELEVANT, replace=False)] = 1.0
    first, second = (pair_hits + rng.normal(0, 1.0, pair_hits.shape) for _ in range(2))
    hits = np.repeat(pair_hits, 2, axis=0)
    scores = {  # rows: customer 2i, then 2i + 1
        "a": np.stack([first, second], axis=1).reshape(hits.shape),
        "b": np.stack([second, first], axis=1).reshape(hits.shape),
    }
    for name, strength in signal.items():
        scores[name] = strength * hits + rng.normal(0, 1.0, hits.shape)
    return {"hits": hits > 0, **scores}


def _pool(fold: dict[str, np.ndarray], names: list[str]) -> FoldPool:
    hits = fold["hits"]
    n_users = len(hits)
    ideal = float(sum(1 / np.log2(np.arange(2, RELEVANT + 2))))
    return FoldPool(
        names=names,
        users=np.arange(n_users),
        candidates=np.tile(np.arange(CANDIDATES), (n_users, 1)),
        scores=np.stack([fold[name] for name in names]).astype(np.float32),
        hits=hits,
        ideal=np.full(n_users, ideal),
        k=K,
    )


def _choose(folds: list[dict[str, np.ndarray]], names: list[str]) -> BlendChoice:
    return choose_blend([_pool(fold, names) for fold in folds], grid=DEFAULT_WEIGHT_GRID)


def _tip(fold: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """The fold with `name` worse by a hair: one customer of 600 it served well gets its relevant products last."""
    tipped = {key: value.copy() for key, value in fold.items()}
    top = np.argsort(-fold[name], axis=1)[:, :K]
    customer = int(np.flatnonzero(np.take_along_axis(fold["hits"], top, axis=1).any(axis=1))[0])
    tipped[name][customer] = -fold["hits"][customer].astype(float)
    return tipped


def test_two_equally_good_components_are_blended_whichever_leads_by_a_hair() -> None:
    rng = np.random.default_rng(3)
    folds = [_fold(rng, {"noise": 0.0}) for _ in range(2)]
    names = ["a", "b", "noise"]
    a_leads = _choose([_tip(fold, "b") for fold in folds], names)
    b_leads = _choose([_tip(fold, "a") for fold in folds], names)

    assert (a_leads.best_single, b_leads.best_single) == ("a", "b")  # the hair decides who leads ...
    for choice in (a_leads, b_leads):  # ... and nothing else: both are served, evenly, and noise is not
        assert set(choice.tied) == {"a", "b"}
        assert set(choice.weights) == {"a", "b"}
        assert choice.weights["a"] == pytest.approx(choice.weights["b"], abs=0.1)
    assert a_leads.weights == pytest.approx(b_leads.weights, abs=0.1)


def test_a_clearly_weaker_component_is_not_tied_with_the_best() -> None:
    rng = np.random.default_rng(4)
    folds = [_fold(rng, {"weak": 0.4, "noise": 0.0}) for _ in range(2)]
    choice = _choose(folds, ["a", "weak", "noise"])

    assert choice.tied == ["a"] and choice.anchor == {"a": 1.0}
    assert "noise" not in choice.weights
    assert choice.decision in ("a alone", "blend")
