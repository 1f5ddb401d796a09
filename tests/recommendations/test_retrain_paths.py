"""The paths that keep a full retrain fast: the binary read, the warm-started final fit, threaded top-N, the
sparse "similar items" blend and the batched conversion of lists to their stored form."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from django.utils import timezone

from recommendations.data_loading import load_training_data
from recommendations.engine.base import normalize_rows, top_n
from recommendations.engine.blending import time_ordered_folds
from recommendations.engine.content import ContentRecommender
from recommendations.engine.data import Catalog, EventLog, ItemText, TrainingData
from recommendations.engine.hybrid import HybridConfig, HybridRecommender
from recommendations.engine.reasons import REASON_CODE, ReasonKind
from recommendations.engine.tuning import ranking_quality
from recommendations.stored_lists import pack_list, pack_lists
from retailsite.tenancy.context import tenant_context
from tests.factories import (
    CustomerFactory,
    EventFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    TenantFactory,
)
from tests.recommendations.test_engine_algorithms import CLUSTER_B, NEW_KITCHEN_ITEMS, planted_store

KITCHEN = set(range(20)) | set(NEW_KITCHEN_ITEMS)


@pytest.fixture(scope="module")
def store() -> TrainingData:
    return planted_store()


@pytest.fixture(scope="module")
def hybrid(store: TrainingData) -> HybridRecommender:
    return HybridRecommender(HybridConfig(n_threads=1, als_threads=1)).fit(store)


# -- stored lists ------------------------------------------------------------------------------------------


def test_lists_are_packed_with_database_ids_rounded_scores_and_readable_reasons() -> None:
    product_ids = np.array([101, 102, 103, 104])
    category_ids = np.array([7, 8])
    items = np.array([[2, 0, -1], [-1, 3, 1]])  # -1 = no item; it may sit anywhere in a row
    scores = np.array([[0.123456789, -2.0, np.nan], [np.nan, 1.5, 0.333333]], dtype=np.float32)
    kinds = np.array(
        [
            [REASON_CODE[ReasonKind.BECAUSE_BOUGHT], REASON_CODE[ReasonKind.POPULAR], 0],
            [0, REASON_CODE[ReasonKind.POPULAR_IN_CATEGORY], REASON_CODE[ReasonKind.PERSONALIZED]],
        ]
    )
    anchors = np.array([[0, -1, -1], [-1, -1, 2]])
    categories = np.array([[-1, -1, -1], [-1, 1, -1]])

    rows = list(pack_lists(product_ids, items, scores, kinds, anchors, categories, category_ids))

    assert rows[0] == {
        "p": [103, 101],
        "s": [0.12346, -2.0],
        "k": ["because_bought", "popular"],
        "a": [101, None],
        "c": [None, None],
    }
    assert rows[1] == {
        "p": [104, 102],
        "s": [1.5, 0.33333],
        "k": ["popular_in_category", "personalized"],
        "a": [None, 103],
        "c": [8, None],
    }
    assert pack_list(product_ids, items[1], scores[1]) == {"p": [104, 102], "s": [1.5, 0.33333]}
    assert pack_list(product_ids, np.array([], dtype=np.int64), np.array([])) == {"p": [], "s": []}


# -- final fit from the evaluation fit ---------------------------------------------------------------------


def test_a_fit_started_from_an_earlier_fit_still_recommends_each_customers_cluster(hybrid, store) -> None:
    final_config = HybridConfig(
        n_threads=1,
        als_threads=1,
        weights=dict(hybrid.weights_),
        component_params={name: dict(report.params) for name, report in hybrid.report_.items()},
    )
    warm = HybridRecommender(final_config).fit(store, hybrid)

    top = warm.recommend(np.arange(60), 5, exclude=store.seen)
    for user in range(60):
        assert set(top.items[user].tolist()) <= (KITCHEN if user < 30 else CLUSTER_B), user
    # the catalog's text features depend on the products only: taken over, not recomputed
    assert warm.components_["content"].features_ is hybrid.components_["content"].features_


def test_an_earlier_fit_of_another_store_is_ignored(hybrid) -> None:
    events = planted_store(seed=3).events
    keep = events.users < 40
    smaller = TrainingData(
        EventLog(
            40,
            events.n_items,
            events.users[keep],
            events.items[keep],
            events.event_types[keep],
            events.timestamps[keep],
        )
    )
    model = HybridRecommender(HybridConfig(n_threads=1, als_threads=1, weights={"als": 1.0, "popularity": 0.1}))
    model.fit(smaller, hybrid)  # different customer count: nothing may be reused
    assert model.components_["als"].user_factors_.shape[0] == 40


def test_content_text_features_are_recomputed_for_another_catalog(store) -> None:
    first = ContentRecommender(n_components=8).fit(store)
    same = ContentRecommender(n_components=8).refit(store, first)
    assert same.features_ is first.features_
    names_only = ItemText(names=[f"Item {i}" for i in range(store.n_items)])
    renamed = TrainingData(store.events, store.config, Catalog(store.n_items, store.catalog.categories, names_only))
    other = ContentRecommender(n_components=8).refit(renamed, first)
    assert other.features_ is not first.features_
    assert other.features_.shape != first.features_.shape  # names only: a different vocabulary


def test_every_component_reports_its_held_out_ndcg_on_each_fold(hybrid, store) -> None:
    folds = time_ordered_folds(store)
    for name, report in hybrid.report_.items():
        assert report.fold_ndcg is not None and len(report.fold_ndcg) == len(folds), name
        assert all(0.0 <= value <= 1.0 for value in report.fold_ndcg), name
    # the latest fold's figure is the component's own NDCG@10, fitted on that fold's training part
    latest = folds[-1]
    knn = hybrid._make("item_knn", hybrid.report_["item_knn"].params).fit(latest.train)
    assert hybrid.report_["item_knn"].fold_ndcg[-1] == pytest.approx(
        ranking_quality(knn, latest, latest.users, k=10), abs=1e-6
    )


# -- threads and the similar-items blend ---------------------------------------------------------------------


def test_threaded_top_n_equals_the_sequential_one(hybrid, store) -> None:
    mask = np.ones(store.n_items, dtype=bool)
    mask[[3, 25]] = False
    one = hybrid.recommend(None, 8, exclude=store.purchased, item_mask=mask, batch_size=7)
    two = hybrid.recommend(None, 8, exclude=store.purchased, item_mask=mask, batch_size=7, n_jobs=2)
    np.testing.assert_array_equal(one.items, two.items)
    np.testing.assert_array_equal(one.scores, two.scores)
    np.testing.assert_array_equal(one.reasons.kinds, two.reasons.kinds)
    np.testing.assert_array_equal(one.reasons.anchors, two.reasons.anchors)
    items = np.arange(store.n_items)
    np.testing.assert_array_equal(
        hybrid.similar_items_batch(items, 5, item_mask=mask)[0],
        hybrid.similar_items_batch(items, 5, item_mask=mask, n_jobs=2)[0],
    )


def test_similar_items_are_the_sum_of_the_components_z_scores(hybrid, store) -> None:
    items = np.arange(store.n_items)
    ids, scores = hybrid.similar_items_batch(items, 6)
    content = hybrid.components_["content"].embedding_
    raws = [content @ content.T] + [
        np.asarray(hybrid.components_[name].similarity_.toarray(), dtype=np.float32)
        for name in ("item_knn", "sequential")
        if name in hybrid.components_
    ]
    cold = np.isin(items, hybrid.cold_items_)
    for raw in raws[1:]:
        raw[cold] = 0.0
    related = np.zeros_like(raws[0], dtype=bool)
    total = np.zeros_like(raws[0])
    for raw in raws:
        related |= raw > 1e-6
        total += normalize_rows(raw.astype(np.float32).copy(), "zscore")
    department = store.catalog.categories  # the planted store's two categories are two departments
    total[~related | (department[:, None] != department[None, :])] = -np.inf
    np.fill_diagonal(total, -np.inf)
    expected_ids, expected_scores = top_n(total, 6)
    for item in items:
        assert set(ids[item][ids[item] >= 0].tolist()) == set(expected_ids[item][expected_ids[item] >= 0].tolist())
    np.testing.assert_allclose(np.sort(scores, axis=1), np.sort(expected_scores, axis=1), atol=1e-3)


# -- the binary read -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_read_returns_orders_and_events_of_consenting_customers_with_their_values() -> None:
    tenant = TenantFactory()
    anna, ben = CustomerFactory(tenant=tenant), CustomerFactory(tenant=tenant)
    opted_out = CustomerFactory(tenant=tenant, personalization_consent=False)
    mug, hose = ProductFactory(tenant=tenant), ProductFactory(tenant=tenant)
    at = timezone.now().replace(microsecond=0) - dt.timedelta(days=3)
    order = OrderFactory(tenant=tenant, customer=anna, ordered_at=at)
    OrderLineFactory(tenant=tenant, order=order, product=mug, quantity=2)
    OrderLineFactory(tenant=tenant, order=order, product=hose, quantity=1)
    EventFactory(tenant=tenant, customer=ben, product=hose, event_type="view", occurred_at=at + dt.timedelta(hours=1))
    EventFactory(tenant=tenant, customer=ben, product=mug, event_type="rating", value=4.0, occurred_at=at)
    EventFactory(tenant=tenant, customer=anna, product=mug, event_type="purchase", occurred_at=at)  # = the order
    EventFactory(tenant=tenant, customer=opted_out, product=mug, event_type="cart", occurred_at=at)
    other_store = TenantFactory()
    EventFactory(
        tenant=other_store,
        customer=CustomerFactory(tenant=other_store),
        product=ProductFactory(tenant=other_store),
        event_type="view",
    )

    with tenant_context(tenant):
        loaded = load_training_data(tenant)
    log = loaded.data.events
    customer = {int(c): i for i, c in enumerate(loaded.customer_ids)}
    product = {int(p): i for i, p in enumerate(loaded.product_ids)}
    rows = sorted(
        (int(loaded.customer_ids[u]), int(loaded.product_ids[i]), str(t), None if math.isnan(v) else v, int(b), ts)
        for u, i, t, v, b, ts in zip(
            log.users, log.items, log.event_types, log.values, log.baskets, log.timestamps, strict=True
        )
    )
    stamp = at.timestamp()
    assert rows == sorted(
        [
            (anna.pk, mug.pk, "purchase", None, order.pk, stamp),
            (anna.pk, hose.pk, "purchase", None, order.pk, stamp),
            (ben.pk, hose.pk, "view", None, -1, stamp + 3600),
            (ben.pk, mug.pk, "rating", 4.0, -1, stamp),
        ]
    )
    assert opted_out.pk not in customer and set(product) == {mug.pk, hose.pk}
