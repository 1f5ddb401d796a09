"""Each algorithm alone recovers structure planted in a small synthetic store.

The store: customers 0-29 belong to taste cluster A (items 0-19, "Kitchen"), customers 30-59 to cluster B
(items 20-39, "Garden"). Each customer views 7 random items of their cluster and buys about half of them.
Items 40-41 have product text like cluster A but no interactions at all (brand-new products).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.als import ALSRecommender
from recommendations.engine.content import ContentRecommender
from recommendations.engine.data import Catalog, CustomerInfo, EventLog, InteractionConfig, ItemText, TrainingData
from recommendations.engine.ease import EASERecommender
from recommendations.engine.item_knn import ItemKNNRecommender
from recommendations.engine.popularity import (
    CategoryPopularityRecommender,
    PopularityRecommender,
    TrendingRecommender,
)
from recommendations.engine.reasons import ReasonKind
from recommendations.engine.sequential import SequentialItemToItemRecommender

DAY = 86_400.0
START = 1_700_000_000.0
CLUSTER_A = set(range(20))
CLUSTER_B = set(range(20, 40))
NEW_KITCHEN_ITEMS = (40, 41)
N_USERS, N_ITEMS = 62, 42  # customers 60 (cluster A traits) and 61 (cluster B traits) have no history yet


def planted_store(seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    users, items, types, times, baskets = [], [], [], [], []
    for user in range(60):
        cluster_items = np.arange(20) if user < 30 else np.arange(20, 40)
        chosen = rng.choice(cluster_items, size=7, replace=False)
        for item in chosen:
            t = START + rng.uniform(0, 60) * DAY
            users.append(user), items.append(item), types.append("view"), times.append(t), baskets.append(-1)
            if rng.random() < 0.5:
                users.append(user), items.append(item), types.append("purchase")
                times.append(t + 3600), baskets.append(user)
    events = EventLog(N_USERS, N_ITEMS, users, items, types, times, baskets=baskets)
    kitchen = [i < 20 or i in NEW_KITCHEN_ITEMS for i in range(N_ITEMS)]
    text = ItemText(
        names=[f"Espresso cup {i}" if k else f"Garden hose {i}" for i, k in enumerate(kitchen)],
        descriptions=["ceramic coffee mug for the kitchen" if k else "green hose for watering plants" for k in kitchen],
        categories=["Home > Kitchen" if k else "Outdoor > Garden" for k in kitchen],
        brands=["Brewco" if k else "Greenly" for k in kitchen],
        tags=[["coffee", "kitchen"] if k else ["garden", "outdoor"] for k in kitchen],
    )
    catalog = Catalog(N_ITEMS, categories=np.array([0 if k else 1 for k in kitchen]), text=text)
    # one attribute column ("segment"): 0 for cluster A customers, 1 for cluster B
    attributes = np.array([[0] if u < 30 or u == 60 else [1] for u in range(N_USERS)])
    customers = CustomerInfo(
        N_USERS, attributes=attributes, attribute_names=("segment",), follows=sp.csr_matrix((N_USERS, N_USERS))
    )
    return TrainingData(events, InteractionConfig(half_life_days=None), catalog, customers)


@pytest.fixture(scope="module")
def store() -> TrainingData:
    return planted_store()


def _top(model, data: TrainingData, user: int, n: int = 5) -> list[int]:
    return [int(i) for i in model.recommend(np.array([user]), n, exclude=data.seen).items[0] if i >= 0]


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: ItemKNNRecommender(n_neighbors=20),
        lambda: EASERecommender(l2=10.0),
        lambda: ALSRecommender(factors=4, regularization=5.0, alpha=5.0, iterations=20),
    ],
    ids=["item_knn", "ease", "als"],
)
def test_collaborative_models_recommend_the_customers_own_taste_cluster(store, make_model) -> None:
    model = make_model().fit(store)
    for user in (0, 5, 12):
        assert set(_top(model, store, user)) <= CLUSTER_A
    for user in (31, 44):
        assert set(_top(model, store, user)) <= CLUSTER_B


def test_collaborative_reasons_point_at_a_history_item_that_drives_the_score(store) -> None:
    for model in (ItemKNNRecommender(n_neighbors=20).fit(store), EASERecommender(l2=10.0).fit(store)):
        top = model.recommend(np.array([0]), 5, exclude=store.seen)
        history = set(store.seen[0].indices.tolist())
        bought = set(store.purchased[0].indices.tolist())
        for rec in top.recommendations(0):
            assert rec.reason.kind in (ReasonKind.BECAUSE_BOUGHT, ReasonKind.BECAUSE_VIEWED)
            assert rec.reason.anchor_item in history
            assert (rec.reason.kind == ReasonKind.BECAUSE_BOUGHT) == (rec.reason.anchor_item in bought)


def test_item_knn_because_bought_names_the_co_bought_item() -> None:
    # items 0 and 1 are always bought together by customers 0-4; customer 5 bought only item 0
    users = [u for u in range(5) for _ in (0, 1)] + [5, 6, 6]
    items = [i for _ in range(5) for i in (0, 1)] + [0, 2, 3]
    log = EventLog(7, 4, users, items, ["purchase"] * len(users), [START] * len(users))
    data = TrainingData(log)
    model = ItemKNNRecommender(n_neighbors=5).fit(data)
    rec = model.recommend(np.array([5]), 1, exclude=data.seen).recommendations(0)[0]
    assert rec.item == 1
    assert rec.reason.kind == ReasonKind.BECAUSE_BOUGHT and rec.reason.anchor_item == 0
    assert model.similar_items([0], 1)[0][0, 0] == 1


def test_als_is_deterministic_for_a_seed(store) -> None:
    first = ALSRecommender(factors=8, random_state=3, n_threads=1).fit(store).score(np.arange(10))
    second = ALSRecommender(factors=8, random_state=3, n_threads=1).fit(store).score(np.arange(10))
    np.testing.assert_array_equal(first, second)


def test_content_similar_items_and_scores_for_products_without_interactions(store) -> None:
    model = ContentRecommender().fit(store)
    similar, _ = model.similar_items([3], 5)
    assert set(similar[0].tolist()) <= CLUSTER_A | set(NEW_KITCHEN_ITEMS)
    # brand-new kitchen products score higher for a kitchen customer than for a garden customer
    scores = model.score(np.array([0, 40]))
    for item in NEW_KITCHEN_ITEMS:
        assert scores[0, item] > scores[1, item]
    top = model.recommend(np.array([0]), 3, exclude=store.seen)
    assert top.recommendations(0)[0].reason.kind == ReasonKind.SIMILAR_TO


def test_popularity_trending_and_popular_in_category() -> None:
    # item 0: 20 events 100-80 days ago (old hit); item 1: 8 events in the last 3 days (surging); item 2: 5 steady
    users, items, times = [], [], []
    now = START + 100 * DAY
    for k in range(20):
        users.append(k), items.append(0), times.append(START + k * DAY)
    for k in range(8):
        users.append(k), items.append(1), times.append(now - k * 0.3 * DAY)
    for k in range(5):
        users.append(k), items.append(2), times.append(START + k * 20 * DAY)
    users.append(0), items.append(3), times.append(now)  # item 3 (category 1) keeps the clock at "now"
    log = EventLog(20, 4, users, items, ["purchase"] * len(users), times)
    data = TrainingData(log, InteractionConfig(half_life_days=None), Catalog(4, categories=np.array([0, 0, 0, 1])))
    assert PopularityRecommender(half_life_days=None).fit(data).top_items(1)[0] == 0  # all-time best seller
    assert PopularityRecommender(half_life_days=7).fit(data).top_items(1)[0] == 1  # what sells now
    trending = TrendingRecommender(short_half_life_days=3, long_half_life_days=60).fit(data)
    assert trending.top_items(1)[0] == 1
    assert trending.item_scores_[0] < 0  # the old hit is cooling down
    category = CategoryPopularityRecommender(half_life_days=None).fit(data)
    assert category.top_items(2, category=1).tolist() == [3]
    top = category.recommend(np.array([0]), 1, exclude=sp.csr_matrix((20, 4)))
    assert top.items[0, 0] == 0
    reason = top.recommendations(0)[0].reason
    assert reason.kind == ReasonKind.POPULAR_IN_CATEGORY and reason.category == 0


def test_sequential_recovers_what_customers_view_next() -> None:
    # every customer views 0 then 1 then 2; a session that viewed 0 gets 1 first
    users = [u for u in range(10) for _ in range(3)] + [10, 10]
    items = [0, 1, 2] * 10 + [3, 4]
    times = [START + k for _ in range(10) for k in range(3)] + [START, START + 1]
    data = TrainingData(EventLog(11, 5, users, items, ["view"] * len(users), times))
    model = SequentialItemToItemRecommender(window=1).fit(data)
    session_scores = model.score_items([0])
    assert int(np.argmax(session_scores)) == 1
    assert session_scores[3] == 0 and session_scores[4] == 0  # never seen together
