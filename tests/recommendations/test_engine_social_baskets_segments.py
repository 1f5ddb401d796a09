"""Social, frequently-bought-together and segment models recover what was planted."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from domain.age_bands import age_band, age_band_labels
from recommendations.engine.data import CustomerInfo, EventLog, InteractionConfig, TrainingData
from recommendations.engine.fbt import FrequentlyBoughtTogetherRecommender
from recommendations.engine.reasons import ReasonKind
from recommendations.engine.segments import SegmentPopularityRecommender, encode_attributes
from recommendations.engine.social import SocialRecommender

NOW = 1_700_000_000.0


def _follows(pairs: list[tuple[int, int]], n_users: int) -> sp.csr_matrix:
    rows, cols = zip(*pairs, strict=True)
    return sp.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n_users, n_users))


def test_followed_customers_purchases_surface_weighted_by_tie_strength() -> None:
    # customer 0 bought 0, 1, 2 and follows 1 and 2. Customer 1 has the same taste (bought 0, 1, 2) and also
    # bought 5; customer 2 shares nothing with 0 and bought 6. Customer 3 (not followed) bought 7.
    purchases = {0: [0, 1, 2], 1: [0, 1, 2, 5], 2: [3, 4, 6], 3: [7]}
    users = [u for u, items in purchases.items() for _ in items]
    items = [i for items in purchases.values() for i in items]
    log = EventLog(4, 8, users, items, ["purchase"] * len(users), [NOW] * len(users))
    customers = CustomerInfo(4, follows=_follows([(0, 1), (0, 2)], 4))
    data = TrainingData(log, InteractionConfig(half_life_days=None), customers=customers)
    model = SocialRecommender().fit(data)
    top = model.recommend(np.array([0]), 3, exclude=data.seen)
    recommended = [int(i) for i in top.items[0] if i >= 0]
    assert recommended[0] == 5  # the like-minded followee's purchase first
    assert set(recommended[1:]) <= {3, 4, 6}  # then the other followee's purchases (tied)
    assert top.recommendations(0)[0].reason.kind == ReasonKind.FOLLOWED_BOUGHT
    scores = model.score(np.array([0]))[0]
    assert scores[5] > scores[6] > 0 == scores[7]


def test_social_likes_count_but_bad_ratings_do_not() -> None:
    log = EventLog(
        2,
        3,
        users=[1, 1, 1],
        items=[0, 1, 2],
        event_types=["wishlist", "rating", "rating"],
        timestamps=[NOW] * 3,
        values=[np.nan, 5.0, 1.0],
    )
    data = TrainingData(log, customers=CustomerInfo(2, follows=_follows([(0, 1)], 2)))
    scores = SocialRecommender().fit(data).score(np.array([0]))[0]
    assert scores[0] > 0 and scores[1] > 0  # wishlisted, rated 5/5
    assert scores[2] == 0  # rated 1/5: not a like


def _baskets() -> EventLog:
    """60 orders. Bundle (10, 11) bought together in 3 orders; item 10 also in 5 orders with best seller 0;
    best seller 0 in 50 orders; items 20 and 21 together in a single order."""
    orders: list[list[int]] = [[10, 11]] * 3 + [[10, 0]] * 5 + [[0, 30 + k % 5] for k in range(45)]
    orders += [[20, 21]] + [[40 + k] for k in range(6)]
    users, items, baskets = [], [], []
    for order_id, order in enumerate(orders):
        for item in order:
            users.append(order_id % 7), items.append(item), baskets.append(order_id)
    return EventLog(7, 50, users, items, ["purchase"] * len(items), [NOW] * len(items), baskets=baskets)


def test_fbt_finds_the_planted_bundle_and_prefers_lift_over_raw_co_occurrence() -> None:
    data = TrainingData(_baskets())
    model = FrequentlyBoughtTogetherRecommender(metric="lift", min_pair_count=2).fit(data)
    related, strength = model.bought_together([10, 11], 3)
    # raw counts would say 0 (together 5 times) before 11 (3 times); lift says 11: 3*60/(8*3) = 7.5 vs
    # 5*60/(8*50) = 0.75, and a lift below 1 is no association at all.
    assert related[0, 0] == 11 and strength[0, 0] == pytest.approx(7.5)
    assert 0 not in related[0].tolist()
    assert related[1, 0] == 10


def test_fbt_minimum_support_and_confidence() -> None:
    data = TrainingData(_baskets())
    assert FrequentlyBoughtTogetherRecommender(min_pair_count=2).fit(data).bought_together([20], 3)[0][0, 0] == -1
    assert FrequentlyBoughtTogetherRecommender(min_pair_count=1).fit(data).bought_together([20], 3)[0][0, 0] == 21
    confidence = FrequentlyBoughtTogetherRecommender(metric="confidence").fit(data)
    related, strength = confidence.bought_together([11], 1)
    assert related[0, 0] == 10 and strength[0, 0] == pytest.approx(1.0)  # every order with 11 has 10


def test_fbt_scores_a_customer_from_their_purchases_with_a_bought_together_reason() -> None:
    log = _baskets()
    # customer 6 just bought item 10 in a new order
    log = EventLog(
        7,
        50,
        [*log.users, 6],
        [*log.items, 10],
        [*log.event_types, "purchase"],
        [*log.timestamps, NOW + 1],
        baskets=[*log.baskets, 999],
    )
    data = TrainingData(log)
    model = FrequentlyBoughtTogetherRecommender().fit(data)
    rec = model.recommend(np.array([6]), 1, exclude=data.purchased).recommendations(0)[0]
    assert rec.item == 11
    assert rec.reason.kind == ReasonKind.BOUGHT_TOGETHER and rec.reason.anchor_item == 10


def test_segment_fallback_serves_what_similar_customers_like() -> None:
    # women 18-24 like items 0-2, men 45-54 like items 3-5; customers 8 and 9 are new
    ages = [20, 21, 22, 23, 50, 51, 52, 53, 19, 48]
    genders = ["F", "F", "F", "F", "M", "M", "M", "M", "F", "M"]
    codes, vocabularies = encode_attributes({"age_band": age_band(ages).tolist(), "gender": genders})
    users, items = [], []
    for user in range(8):
        for item in range(3) if user < 4 else range(3, 6):
            users.append(user), items.append(item)
    log = EventLog(10, 6, users, items, ["purchase"] * len(users), [NOW] * len(users))
    data = TrainingData(log, customers=CustomerInfo(10, attributes=codes, attribute_names=("age_band", "gender")))
    model = SegmentPopularityRecommender(shrinkage=1.0).fit(data)
    top = model.recommend(np.array([8, 9]), 3, exclude=data.seen)
    assert set(top.items[0].tolist()) == {0, 1, 2}
    assert set(top.items[1].tolist()) == {3, 4, 5}
    assert top.recommendations(0)[0].reason.kind == ReasonKind.POPULAR_WITH_SEGMENT
    # a sign-up not in the index yet, known only by attributes; unknown gender (-1) still uses the age band
    young = [vocabularies["age_band"].index(1), -1]  # band 1 is "18-24"
    assert set(np.argsort(-model.score_attributes(np.array([young]))[0])[:3].tolist()) == {0, 1, 2}


def test_age_bands() -> None:
    assert age_band([17, 18, 24, 25, 64, 65, np.nan]).tolist() == [0, 1, 1, 2, 5, 6, -1]
    assert age_band_labels([17, 18, 34, 65, np.nan, -3]).tolist() == [
        "<18",
        "18-24",
        "25-34",
        "65+",
        "unknown",
        "unknown",
    ]
