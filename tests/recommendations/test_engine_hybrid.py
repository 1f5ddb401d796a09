"""The hybrid: planted taste clusters recovered, every cold-start path, readable reasons, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.data import TrainingData
from recommendations.engine.hybrid import HybridConfig, HybridRecommender
from recommendations.engine.reasons import Reason, ReasonKind, render_reason
from tests.recommendations.test_engine_algorithms import (
    CLUSTER_A,
    CLUSTER_B,
    NEW_KITCHEN_ITEMS,
    planted_store,
)

KITCHEN = CLUSTER_A | set(NEW_KITCHEN_ITEMS)


@pytest.fixture(scope="module")
def store() -> TrainingData:
    return planted_store()


@pytest.fixture(scope="module")
def hybrid(store: TrainingData) -> HybridRecommender:
    return HybridRecommender(HybridConfig(n_threads=1, als_threads=1)).fit(store)


def test_tuned_hybrid_recommends_each_customers_own_cluster(hybrid, store) -> None:
    assert hybrid.weights_, "tuning kept at least one component"
    top = hybrid.recommend(np.arange(60), 5, exclude=store.seen)
    for user in range(60):
        assert set(top.items[user].tolist()) <= (KITCHEN if user < 30 else CLUSTER_B), user


def test_reasons_are_structured_and_render_as_sentences(hybrid, store) -> None:
    names = {i: f"Item {i}" for i in range(store.n_items)}
    categories = {0: "Kitchen", 1: "Garden"}
    top = hybrid.recommend(np.array([0]), 10, exclude=store.seen)
    history = set(store.seen[0].indices.tolist())
    for rec in top.recommendations(0):
        sentence = render_reason(rec.reason, names, categories)
        assert sentence
        if rec.reason.kind in (ReasonKind.BECAUSE_BOUGHT, ReasonKind.BECAUSE_VIEWED, ReasonKind.SIMILAR_TO):
            assert rec.reason.anchor_item in history  # "because you ..." always names something they did
            assert names[rec.reason.anchor_item] in sentence


def test_new_customer_gets_their_segments_favourites(hybrid) -> None:
    # customers 60 (cluster A traits) and 61 (cluster B traits) have no events at all
    top = hybrid.recommend(np.array([60, 61]), 5)
    assert set(top.items[0].tolist()) <= KITCHEN
    assert set(top.items[1].tolist()) <= CLUSTER_B
    assert top.recommendations(0)[0].reason.kind in (
        ReasonKind.POPULAR_WITH_SEGMENT,
        ReasonKind.POPULAR,
        ReasonKind.TRENDING,
    )


def test_new_products_reach_customers_whose_history_matches_their_text(hybrid, store) -> None:
    assert set(hybrid.cold_items_.tolist()) == set(NEW_KITCHEN_ITEMS)
    scores = hybrid.score(np.arange(60))
    for item in NEW_KITCHEN_ITEMS:
        assert scores[:30, item].mean() > scores[30:, item].max()  # kitchen customers, not garden ones
    top = hybrid.recommend(np.arange(30), 20, exclude=store.seen)
    listed = [(row, col) for row in range(30) for col in range(20) if top.items[row, col] in NEW_KITCHEN_ITEMS]
    assert listed, "new kitchen products appear in kitchen customers' lists"
    for row, col in listed:
        reason = top.reasons.at(row, col)
        assert reason.kind == ReasonKind.SIMILAR_TO
        assert reason.anchor_item in set(store.seen[row].indices.tolist())


def test_item_widgets(hybrid) -> None:
    similar = hybrid.similar_items(3, n=5)
    assert {r.item for r in similar} <= KITCHEN and all(r.reason.anchor_item == 3 for r in similar)
    assert {r.item for r in hybrid.similar_items(40, n=5)} <= KITCHEN  # a new product: by its text
    batch, _ = hybrid.similar_items_batch([3, 40], n=5)
    assert batch[0].tolist() == [r.item for r in similar]  # the batch form gives the same lists
    assert set(batch[1].tolist()) <= KITCHEN
    together = hybrid.bought_together(25, n=3)
    assert together and {r.item for r in together} <= CLUSTER_B
    assert all(r.reason == Reason(ReasonKind.BOUGHT_TOGETHER, anchor_item=25) for r in together)


def test_bulk_lists_honour_masks_and_exclusions(hybrid, store) -> None:
    mask = np.ones(store.n_items, dtype=bool)
    mask[list(range(0, 20, 2))] = False  # even kitchen items out of stock
    top = hybrid.recommend(np.arange(30), 8, exclude=store.purchased, item_mask=mask)
    for user in range(30):
        listed = set(top.items[user][top.items[user] >= 0].tolist())
        assert not listed & set(range(0, 20, 2))
        assert not listed & set(store.purchased[user].indices.tolist())


def test_fixed_weights_skip_tuning_and_fits_are_deterministic(store) -> None:
    config = HybridConfig(weights={"ease": 1.0, "item_knn": 0.5, "popularity": 0.1}, n_threads=1, als_threads=1)
    first = HybridRecommender(config).fit(store)
    assert first.weights_ == {"ease": 1.0, "item_knn": 0.5, "popularity": 0.1}
    again = HybridRecommender(config).fit(store)
    users = np.arange(62)
    np.testing.assert_array_equal(first.recommend(users, 5).items, again.recommend(users, 5).items)


def test_render_reason_sentences() -> None:
    names = {7: "Espresso Cups"}
    categories = {2: "Kitchen"}
    cases = {
        Reason(ReasonKind.BECAUSE_BOUGHT, anchor_item=7): "Because you bought Espresso Cups",
        Reason(ReasonKind.BECAUSE_VIEWED, anchor_item=7): "Because you viewed Espresso Cups",
        Reason(ReasonKind.SIMILAR_TO, anchor_item=7): "Similar to Espresso Cups",
        Reason(ReasonKind.BOUGHT_TOGETHER, anchor_item=7): "Frequently bought with Espresso Cups",
        Reason(ReasonKind.POPULAR_IN_CATEGORY, category=2): "Popular in Kitchen",
        Reason(ReasonKind.FOLLOWED_BOUGHT): "People you follow bought this",
        Reason(ReasonKind.POPULAR_WITH_SEGMENT): "Popular with shoppers like you",
        Reason(ReasonKind.TRENDING): "Trending now",
        Reason(ReasonKind.PERSONALIZED): "Recommended for you",
        # a missing name never produces a half sentence
        Reason(ReasonKind.BECAUSE_BOUGHT, anchor_item=99): "Recommended for you",
    }
    for reason, sentence in cases.items():
        assert render_reason(reason, names, categories) == sentence
    assert render_reason(Reason(ReasonKind.SIMILAR_TO, anchor_item=7), lambda i: f"#{i}", {}) == "Similar to #7"


def test_fast_blend_equals_the_textbook_z_score_blend(store) -> None:
    weights = {
        "ease": 1.0,
        "als": 0.5,
        "item_knn": 0.5,
        "sequential": 0.3,
        "popularity": 0.2,
        "trending": 0.1,
        "category_popularity": 0.4,
        "content": 0.3,
        "segment": 0.5,
        "fbt": 0.2,
    }
    model = HybridRecommender(HybridConfig(weights=weights, n_threads=1, als_threads=1)).fit(store)
    users = np.arange(60)
    expected = np.zeros((60, store.n_items))
    for name, weight in model.weights_.items():
        scores = model.components_[name].score(users).astype(np.float64)
        std = scores.std(axis=1, keepdims=True)
        expected += weight * np.divide(
            scores - scores.mean(axis=1, keepdims=True), std, out=np.zeros_like(scores), where=std > 0
        )
    warm = np.setdiff1d(np.arange(store.n_items), model.cold_items_)
    np.testing.assert_allclose(model.score(users)[:, warm], expected[:, warm], atol=1e-3)
