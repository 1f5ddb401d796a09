"""Offline evaluation: every metric equals a value computed by hand on a tiny example; splits by time."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.data import EventLog
from recommendations.engine.evaluation import (
    evaluate_recommendations,
    gini,
    relevance_matrix,
    split_global_by_time,
    split_per_user_by_time,
)

# Three customers, catalog of 8 items, lists of K = 3.
RECOMMENDED = np.array([[0, 1, 2], [3, 4, 5], [0, 2, 4]])
RELEVANT = sp.csr_matrix(
    (np.ones(4), ([0, 0, 1, 2], [1, 3, 3, 5])), shape=(3, 8)
)  # customer 0: {1, 3}; customer 1: {3}; customer 2: {5}
# Training engagement: item 0 by 4 customers, item 1 by 2, items 2, 3, 4 by 1, items 5-7 by none.
TRAIN = sp.csr_matrix((np.ones(9), ([0, 1, 2, 3, 0, 1, 2, 3, 0], [0, 0, 0, 0, 1, 1, 2, 3, 4])), shape=(4, 8))
CATEGORIES = np.array([0, 0, 1, 1, 2, 2, 0, 1])
GROUPS = np.array(["F", "M", "F"], dtype=object)


@pytest.fixture(scope="module")
def report():
    return evaluate_recommendations(
        RECOMMENDED, RELEVANT, k=3, train=TRAIN, item_categories=CATEGORIES, user_groups=GROUPS
    )


def test_accuracy_metrics_by_hand(report) -> None:
    log2_3 = math.log2(3)
    # customer 0: one hit (item 1) at rank 2 of 3, 2 relevant
    ndcg_0 = (1 / log2_3) / (1 + 1 / log2_3)  # IDCG over min(3, 2) = 2 ideal hits
    ap_0 = (1 / 2) * (1 / 2)  # precision@2 = 1/2, divided by min(K, |rel|) = 2
    # customer 1: hit at rank 1, 1 relevant -> NDCG 1, AP 1; customer 2: no hit -> zeros
    assert report.accuracy.precision == pytest.approx((1 / 3 + 1 / 3 + 0) / 3)
    assert report.accuracy.recall == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert report.accuracy.ndcg == pytest.approx((ndcg_0 + 1 + 0) / 3)
    assert report.accuracy.map == pytest.approx((ap_0 + 1 + 0) / 3)
    assert report.accuracy.hit_rate == pytest.approx(2 / 3)
    assert report.accuracy.n_users == 3


def test_coverage_novelty_long_tail_by_hand(report) -> None:
    # shown items {0, 1, 2, 3, 4, 5} of 8
    assert report.coverage == pytest.approx(6 / 8)
    # -log2 p(i), p = engaged customers / 4: item0 -> 0 bits, item1 -> 1, items 2-4 -> 2, item5 (nobody,
    # counted as one customer) -> 2. Slots: [0,1,2] -> 0+1+2, [3,4,5] -> 6, [0,2,4] -> 4; 13 bits / 9 slots.
    assert report.novelty == pytest.approx(13 / 9)
    # head = ceil(0.2 * 8) = 2 most engaged items {0, 1}; head slots: 0 and 1 for customer 0, 0 for customer 2
    assert report.long_tail_share == pytest.approx(6 / 9)


def test_gini_of_exposure_by_hand(report) -> None:
    # exposure per item: [2, 1, 2, 1, 2, 1, 0, 0]; sorted [0,0,1,1,1,2,2,2], n = 8, total 9
    # sum (2i - n - 1) x_(i) = -3 - 1 + 1 + 6 + 10 + 14 = 27 -> 27 / (8 * 9)
    assert report.gini == pytest.approx(27 / 72)
    assert gini(np.ones(5)) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 10.0])) == pytest.approx(0.75)  # (n-1)/n for one item taking everything


def test_intra_list_diversity_by_category_by_hand(report) -> None:
    # categories of lists: [0,0,1] -> 1 of 3 pairs alike -> 2/3; [1,2,2] -> 2/3; [0,1,2] -> 1
    assert report.intra_list_diversity == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_intra_list_diversity_with_vectors() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # pairs: (0,1) cosine 1, (0,2) 0, (1,2) 0 -> mean similarity 1/3
    result = evaluate_recommendations(np.array([[0, 1, 2]]), sp.csr_matrix((1, 3)), k=3, item_vectors=vectors)
    assert result.intra_list_diversity == pytest.approx(2 / 3)


def test_accuracy_per_group_by_hand(report) -> None:
    ndcg_0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert set(report.by_group) == {"F", "M"}
    assert report.by_group["F"].ndcg == pytest.approx(ndcg_0 / 2)  # customers 0 and 2
    assert report.by_group["M"].ndcg == pytest.approx(1.0)
    assert report.by_group["F"].n_users == 2


def test_customers_without_held_out_items_are_not_averaged() -> None:
    relevant = sp.csr_matrix((np.ones(1), ([0], [1])), shape=(2, 4))
    result = evaluate_recommendations(np.array([[1, 2], [0, 3]]), relevant, k=2)
    assert result.accuracy.n_users == 1
    assert result.accuracy.hit_rate == 1.0


def _events() -> EventLog:
    # customer 0: 5 events at t = 1..5; customer 1: 10 events at t = 10..1 (given in reverse order); customer 2: 1
    users = [0] * 5 + [1] * 10 + [2]
    times = [1, 2, 3, 4, 5, *range(10, 0, -1), 7]
    items = [0, 1, 2, 3, 4, *range(10), 5]
    return EventLog(3, 10, users=users, items=items, event_types=["view"] * 16, timestamps=times)


def test_split_per_user_holds_out_each_customers_latest_fifth() -> None:
    train, test = split_per_user_by_time(_events(), 0.2)
    held_out = {(int(u), int(t)) for u, t in zip(test.users, test.timestamps, strict=True)}
    # customer 0: last 1 of 5 (t=5); customer 1: last 2 of 10 (t=9, 10); customer 2: a single event stays in train
    assert held_out == {(0, 5), (1, 9), (1, 10)}
    assert len(train) == 13
    for user in (0, 1):
        assert train.timestamps[train.users == user].max() < test.timestamps[test.users == user].min()


def test_split_global_by_time_cuts_at_the_cutoff() -> None:
    train, test = split_global_by_time(_events(), cutoff=8.0)
    assert train.timestamps.max() < 8.0 <= test.timestamps.min()
    assert len(train) + len(test) == 16


def test_relevance_matrix_drops_items_already_seen() -> None:
    test = EventLog(1, 4, users=[0, 0], items=[1, 2], event_types=["view", "view"], timestamps=[1, 2])
    seen = sp.csr_matrix((np.ones(1), ([0], [1])), shape=(1, 4))
    assert relevance_matrix(test, exclude=seen).toarray().tolist() == [[0, 0, 1, 0]]
