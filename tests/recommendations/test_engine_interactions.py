"""The interaction matrix: event-type weights, rating scaling and time decay equal hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.data import EventLog, InteractionConfig, TrainingData, build_interaction_matrix

DAY = 86_400.0
NOW = 1_700_000_000.0


def _log() -> EventLog:
    # customer 0: views product 0 now, bought product 0 ten days ago, rated product 1 4/5 twenty days ago
    # customer 1: added product 1 to the cart thirty days ago
    return EventLog(
        n_users=2,
        n_items=3,
        users=[0, 0, 0, 1],
        items=[0, 0, 1, 1],
        event_types=["view", "purchase", "rating", "cart"],
        timestamps=[NOW, NOW - 10 * DAY, NOW - 20 * DAY, NOW - 30 * DAY],
        values=[np.nan, np.nan, 4.0, np.nan],
    )


WEIGHTS = {"view": 1.0, "cart": 3.0, "wishlist": 2.0, "purchase": 5.0, "rating": 5.0}


def test_weights_and_global_decay_match_hand_computation() -> None:
    config = InteractionConfig(event_weights=WEIGHTS, rating_max=5.0, half_life_days=10.0)
    matrix = build_interaction_matrix(_log(), config).toarray()
    # (0, 0): view 1 * 0.5**0 + purchase 5 * 0.5**(10/10) = 1 + 2.5
    assert matrix[0, 0] == pytest.approx(3.5)
    # (0, 1): rating weight 5 * (4 / 5) = 4, aged 20 days -> * 0.25
    assert matrix[0, 1] == pytest.approx(1.0)
    # (1, 1): cart 3, aged 30 days -> * 0.125
    assert matrix[1, 1] == pytest.approx(0.375)
    # nothing else
    assert matrix[0, 2] == 0 and matrix[1, 0] == 0 and matrix[1, 2] == 0


def test_per_user_decay_measures_age_from_each_customers_latest_event() -> None:
    config = InteractionConfig(event_weights=WEIGHTS, half_life_days=10.0, decay_reference="per_user")
    matrix = build_interaction_matrix(_log(), config).toarray()
    # customer 1's only event is their latest: no decay, cart weight 3
    assert matrix[1, 1] == pytest.approx(3.0)
    # customer 0's latest event is "now": same as global decay
    assert matrix[0, 0] == pytest.approx(3.5)


def test_no_decay_and_binary_config() -> None:
    no_decay = build_interaction_matrix(_log(), InteractionConfig(event_weights=WEIGHTS, half_life_days=None))
    assert no_decay.toarray()[0, 0] == pytest.approx(6.0)  # 1 + 5
    assert no_decay.toarray()[0, 1] == pytest.approx(4.0)  # 5 * 4/5
    binary = build_interaction_matrix(_log(), InteractionConfig.binary()).toarray()
    assert binary[0, 0] == pytest.approx(2.0)  # two events, each counting 1
    assert binary[0, 1] == pytest.approx(1.0)  # rating value ignored


def test_view_counts_less_than_cart_less_than_purchase_by_default() -> None:
    log = EventLog(
        3, 1, users=[0, 1, 2], items=[0, 0, 0], event_types=["view", "cart", "purchase"], timestamps=[NOW, NOW, NOW]
    )
    column = build_interaction_matrix(log).toarray()[:, 0]
    assert column[0] < column[1] < column[2]


def test_seen_and_purchased_matrices() -> None:
    data = TrainingData(_log())
    assert data.seen.toarray().tolist() == [[1, 1, 0], [0, 1, 0]]
    assert data.purchased.toarray().tolist() == [[1, 0, 0], [0, 0, 0]]


def test_event_log_rejects_unknown_types_and_out_of_range_indices() -> None:
    with pytest.raises(ValueError, match="unknown event types"):
        EventLog(1, 1, users=[0], items=[0], event_types=["click"], timestamps=[NOW])
    with pytest.raises(ValueError, match="items must lie"):
        EventLog(1, 1, users=[0], items=[3], event_types=["view"], timestamps=[NOW])
