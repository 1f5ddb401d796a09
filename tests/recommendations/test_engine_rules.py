"""Serve-time business rules: every filter and diversity rule is honoured on a ranked candidate list."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.engine.rules import BusinessRules, CatalogState, allowed_item_mask, apply_business_rules

# 10 items ranked 0 (best) .. 9; categories in threes; prices 10, 20, ..., 100; item 2 out of stock.
ITEMS = np.arange(10)
SCORES = np.linspace(1.0, 0.1, 10)
CATALOG = CatalogState(
    available=np.array([True, True, False, True, True, True, True, True, True, True]),
    categories=np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3]),
    prices=np.arange(10, 101, 10, dtype=float),
)


def kept(rules: BusinessRules, n: int = 10, purchased: tuple[int, ...] = ()) -> list[int]:
    positions = apply_business_rules(ITEMS, SCORES, rules=rules, catalog=CATALOG, n=n, purchased_items=purchased)
    return ITEMS[positions].tolist()


def test_only_available_items_by_default() -> None:
    assert 2 not in kept(BusinessRules())
    assert 2 in kept(BusinessRules(only_available=False))


def test_already_purchased_excluded_by_default_and_switchable() -> None:
    assert 0 not in kept(BusinessRules(), purchased=(0, 4))
    assert 4 not in kept(BusinessRules(), purchased=(0, 4))
    assert {0, 4} <= set(kept(BusinessRules(exclude_purchased=False), purchased=(0, 4)))


def test_excluded_ids() -> None:
    assert set(kept(BusinessRules(exclude_items=frozenset({5, 7})))).isdisjoint({5, 7})


def test_category_filter() -> None:
    assert kept(BusinessRules(categories=frozenset({1}))) == [3, 4, 5]
    assert kept(BusinessRules(categories=frozenset({0, 3}))) == [0, 1, 9]  # 2 is out of stock


def test_price_range() -> None:
    assert kept(BusinessRules(min_price=30, max_price=60)) == [3, 4, 5]  # item 2 (30) is out of stock


def test_at_most_n_per_category_keeps_rank_order() -> None:
    assert kept(BusinessRules(max_per_category=1)) == [0, 3, 6, 9]
    assert kept(BusinessRules(max_per_category=2), n=5) == [0, 1, 3, 4, 6]


def test_list_length_and_padding() -> None:
    assert len(kept(BusinessRules(), n=3)) == 3
    positions = apply_business_rules(
        np.array([4, -1, -1]), np.array([1.0, np.nan, np.nan]), rules=BusinessRules(), catalog=CATALOG, n=3
    )
    assert positions.tolist() == [0]


def test_mmr_lambda_one_is_pure_relevance_and_zero_spreads_categories() -> None:
    assert kept(BusinessRules(mmr_lambda=1.0), n=4) == [0, 1, 3, 4]
    # pure diversity: after the best item every pick avoids categories already shown while possible
    diverse = kept(BusinessRules(mmr_lambda=0.0), n=4)
    assert len({int(CATALOG.categories[i]) for i in diverse}) == 4


def test_mmr_demotes_a_near_duplicate_below_a_different_good_item() -> None:
    items = np.array([0, 1, 3])
    scores = np.array([1.0, 0.99, 0.8])  # 0 and 1 share a category, 3 is another one
    positions = apply_business_rules(items, scores, rules=BusinessRules(mmr_lambda=0.5), catalog=CATALOG, n=3)
    # relevance scaled to [0, 1]: 1, 0.95, 0. After 0: item 1 -> 0.5*0.95 - 0.5*1 < 0, item 3 -> 0 - 0 = 0
    assert items[positions].tolist() == [0, 3, 1]


def test_mmr_with_item_vectors() -> None:
    vectors = np.zeros((10, 2))
    vectors[:, 0] = 1.0
    vectors[4] = [0.0, 1.0]  # the only item pointing elsewhere
    positions = apply_business_rules(
        ITEMS, SCORES, rules=BusinessRules(mmr_lambda=0.3), catalog=CATALOG, n=2, item_vectors=vectors
    )
    assert ITEMS[positions].tolist() == [0, 4]


def test_allowed_item_mask_combines_item_level_rules() -> None:
    rules = BusinessRules(exclude_items=frozenset({0}), categories=frozenset({0, 1}), max_price=50)
    assert np.flatnonzero(allowed_item_mask(rules, CATALOG)).tolist() == [1, 3, 4]


def test_filters_need_the_catalog_attributes_they_use() -> None:
    with pytest.raises(ValueError, match="price filter"):
        allowed_item_mask(BusinessRules(min_price=1.0), CatalogState(available=np.ones(3, dtype=bool)))
