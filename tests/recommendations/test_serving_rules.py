"""The one serve-time rules path (recommendations/serving/rules.py) and what a shopper sees of it.

The first half checks `rules.choose` on small ranked lists whose right answer is worked out by hand (ported from
the engine's former rules module); the second half serves a trained store: sold-out products never appear on any
surface, the per-category cap and the diversity option change a list the way a shopper would notice.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from recommendations import serving
from recommendations.serving.rules import Rules, choose, path_similarity
from recommendations.stored_lists import Candidate
from recommendations.training import recommender_train
from retailsite.api.services import api_key_create
from retailsite.commerce.live_state import LiveState, catalog_live_states
from retailsite.commerce.models import Product
from retailsite.tenancy.context import tenant_context
from tests.factories import EventFactory, TenantFactory
from tests.recommendations.test_layer import build_two_cluster_store

# 10 products ranked 0 (best) .. 9; categories 100..103 in threes; prices 10, 20, ..., 100; product 2 unavailable.
RANKED = [Candidate(pid, 1.0 - pid / 10, "personalized") for pid in range(10)]
STATES = {
    pid: LiveState(pid != 2, Decimal(10 * (pid + 1)), 100 + min(pid // 3, 3)) for pid in range(10)
}  # 9 is alone in 103
PATHS = {100: "Home > Kitchen", 101: "Home > Bath", 102: "Garden", 103: "Toys"}


def states(ids: list[int]) -> dict[int, LiveState]:
    return {pid: STATES[pid] for pid in ids if pid in STATES}


def category_similarity(a: int | None, b: int | None) -> float:
    return 1.0 if a == b else path_similarity(PATHS.get(a or 0, ""), PATHS.get(b or 0, ""))


def kept(rules: Rules, candidates: list[Candidate] = RANKED, popular: list[Candidate] | None = None) -> list[int]:
    chosen = choose(
        candidates,
        rules,
        states=states,
        popular=(lambda: popular) if popular is not None else None,
        similarity=category_similarity,
    )
    return [candidate.product_id for candidate, _ in chosen]


def test_only_available_products_unless_the_callers_own_list() -> None:
    assert 2 not in kept(Rules(k=10))
    assert 2 in kept(Rules(k=10, keep_unavailable=True))


def test_a_product_the_store_does_not_have_is_never_served() -> None:
    assert kept(Rules(k=10), [Candidate(999, 1.0, "popular"), *RANKED[:2]]) == [0, 1]
    assert kept(Rules(k=10, keep_unavailable=True), [Candidate(999, 1.0, "popular")]) == []


def test_excluded_ids_category_and_price_filters() -> None:
    assert set(kept(Rules(k=10, excluded={5, 7}))).isdisjoint({5, 7})
    assert kept(Rules(k=10, allowed_categories={101})) == [3, 4, 5]
    assert kept(Rules(k=10, allowed_categories={100, 103})) == [0, 1, 9]  # 2 is unavailable
    assert kept(Rules(k=10, min_price=Decimal(30), max_price=Decimal(60))) == [3, 4, 5]  # 2 (30) unavailable


def test_at_most_n_per_category_keeps_rank_order() -> None:
    assert kept(Rules(k=10, max_per_category=1)) == [0, 3, 6, 9]
    assert kept(Rules(k=5, max_per_category=2)) == [0, 1, 3, 4, 6]
    assert len(kept(Rules(k=3))) == 3


def test_a_short_list_is_topped_up_from_popular_under_the_same_rules_and_cap() -> None:
    popular = [Candidate(pid, 1.0, "popular") for pid in (1, 2, 4, 5, 9)]
    # 0 and 1 fill category 100; popular 1 is a repeat, 2 unavailable, 4 takes 101, 5 is over the cap there.
    assert kept(Rules(k=5, max_per_category=2), [*RANKED[:2], RANKED[3]], popular) == [0, 1, 3, 4, 9]


def test_avoided_products_are_left_out_unless_too_few_would_remain() -> None:
    assert kept(Rules(k=3, avoid={0, 1}, min_when_avoiding=2)) == [3, 4, 5]
    few = RANKED[:2]
    assert kept(Rules(k=3, avoid={0}, min_when_avoiding=2), few) == [0, 1]  # only [1] left: repeat instead


def test_diversity_zero_is_rank_order_and_one_spreads_categories() -> None:
    assert kept(Rules(k=4, diversity=0.0)) == [0, 1, 3, 4]
    spread = kept(Rules(k=4, diversity=1.0))
    assert spread[0] == 0  # the best item first
    assert len({STATES[pid].category_id for pid in spread}) == 4


def test_diversity_demotes_a_near_duplicate_below_a_different_good_item() -> None:
    candidates = [Candidate(0, 1.0, "p"), Candidate(1, 0.99, "p"), Candidate(3, 0.8, "p")]
    # Relevance scaled to [0, 1]: 1, 0.95, 0. After 0, item 1 (same category) scores 0.5*0.95 - 0.5*1 = -0.025;
    # item 3 ("Home > Bath" beside 0's "Home > Kitchen": half the path shared) 0.5*0 - 0.5*0.5 = -0.25.
    assert kept(Rules(k=3, diversity=0.5), candidates) == [0, 1, 3]
    candidates[2] = Candidate(6, 0.8, "p")  # "Garden": nothing in common with the kitchen, 0 - 0 = 0 > -0.025
    assert kept(Rules(k=3, diversity=0.5), candidates) == [0, 6, 1]


def test_diversity_respects_the_cap() -> None:
    chosen = kept(Rules(k=10, diversity=0.3, max_per_category=1))
    assert sorted(STATES[pid].category_id for pid in chosen) == [100, 101, 102, 103]


def test_long_lists_in_rank_order_match_a_plain_filter_of_the_whole_list() -> None:
    """States are read a chunk at a time; what is kept is what filtering the whole list in order keeps (oracle:
    a plain loop over every candidate), wherever the available ones fall, with caps, exclusions and top-up."""
    rng = random.Random(5)
    for _ in range(300):
        size = rng.randint(0, 400)
        ids = rng.sample(range(1, 2000), size)
        world = {pid: LiveState(rng.random() < 0.3, Decimal(rng.randint(1, 99)), rng.randint(1, 6)) for pid in ids}
        candidates = [Candidate(pid, 1.0, "trending") for pid in ids]
        popular = [Candidate(pid, 1.0, "popular") for pid in rng.sample(ids, min(size, 50))] + [
            Candidate(3000 + i, 1.0, "popular")
            for i in range(5)  # not in the store
        ]
        rules = Rules(
            k=rng.randint(1, 40),
            excluded=set(rng.sample(ids, min(size, 20))),
            max_price=Decimal(rng.choice([99, 50])),
            max_per_category=rng.choice([0, 1, 3]),
        )
        read: list[int] = []

        def states(wanted: list[int], world: dict[int, LiveState] = world, read: list[int] = read) -> dict:
            read.extend(wanted)
            return {pid: world[pid] for pid in wanted if pid in world}

        expected: list[int] = []
        per_category: dict[int | None, int] = {}
        for candidate in [*candidates, *popular]:
            state = world.get(candidate.product_id)
            if (
                len(expected) < rules.k
                and candidate.product_id not in expected
                and candidate.product_id not in rules.excluded
                and state is not None
                and state.available
                and state.price <= rules.max_price  # type: ignore[operator]
                and (not rules.max_per_category or per_category.get(state.category_id, 0) < rules.max_per_category)
            ):
                expected.append(candidate.product_id)
                per_category[state.category_id] = per_category.get(state.category_id, 0) + 1
        chosen = choose(candidates, rules, states=states, popular=lambda popular=popular: popular)
        assert [c.product_id for c, _ in chosen] == expected
        assert len(read) == len(set(read))  # no product's state asked for twice


def test_path_similarity_is_the_shared_share_of_the_path() -> None:
    assert path_similarity("Home > Kitchen > Knives", "Home > Kitchen > Pans") == pytest.approx(2 / 3)
    assert path_similarity("Home > Kitchen", "Home > Kitchen") == 1.0
    assert path_similarity("Home", "Garden") == 0.0
    assert path_similarity("", "Garden") == 0.0


# -- a trained store ---------------------------------------------------------------------------------------------


@pytest.fixture
def store(db):  # type: ignore[no-untyped-def]
    tenant = TenantFactory()
    cats, products, customers = build_two_cluster_store(tenant, customers_per_cluster=6)
    with tenant_context(tenant):
        recommender_train(tenant=tenant)
    return tenant, cats, products, customers


def _stock(rows: list[tuple[Product, int, int]]) -> None:
    from inventory.services import stock_items_write

    stock_items_write(
        [{"product_id": p.pk, "on_hand": on_hand, "on_order": on_order} for p, on_hand, on_order in rows],
        fields=["on_hand", "on_order"],
    )


def test_sold_out_products_never_appear_anywhere(store, client) -> None:  # type: ignore[no-untyped-def]
    tenant, _cats, products, customers = store
    alice = customers["Alpha"][0]
    alpha = products["Alpha"]
    with tenant_context(tenant):
        before = serving.recommend_for_customer(customer_id=alice.pk, filters=serving.Filters(k=5))
        shown = [item.product_id for item in before.items]
        sold_out = Product.objects.get(pk=shown[0])
        on_order = Product.objects.get(pk=shown[1])
        _stock([(sold_out, 0, 0), (on_order, 0, 12)])
        sold_out_everywhere = [sold_out.pk, *[p.pk for p in alpha if p.pk not in shown[:2]][:3]]
        _stock([(Product.objects.get(pk=pid), 0, 0) for pid in sold_out_everywhere[1:]])
        EventFactory(tenant=tenant, customer=alice, product=alpha[0], occurred_at=dt.datetime.now(dt.UTC))
        key = api_key_create(name="partner", scopes=["recommendations:read"]).raw_key
        lists = {
            "for you": serving.recommend_for_customer(customer_id=alice.pk, filters=serving.Filters(k=20)),
            "because viewed": serving.because_viewed(customer_id=alice.pk, filters=serving.Filters(k=20)),
            "trending": serving.trending(filters=serving.Filters(k=20)),
            "similar": serving.similar_items(product_id=alpha[0].pk, filters=serving.Filters(k=20)),
            "bought together": serving.bought_together(product_id=alpha[0].pk, filters=serving.Filters(k=20)),
        }
        with serving.serving_request(live=catalog_live_states()):  # the storefront home's path
            lists["home"] = serving.recommend_for_customer(customer_id=alice.pk, filters=serving.Filters(k=20))
    for name, served in lists.items():
        assert served.items or name == "bought together", name
        assert not {item.product_id for item in served.items} & set(sold_out_everywhere), name
    ids = {item.product_id for item in lists["for you"].items}
    assert on_order.pk in ids  # on order: it will be back, still recommended

    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    with tenant_context(tenant):
        sold_out_external = set(
            Product.objects.filter(pk__in=sold_out_everywhere).values_list("external_id", flat=True)
        )
    responses = [
        client.get(f"/api/v1/recommendations/customers/{alice.external_id}/?k=20", **auth),
        client.get(f"/api/v1/recommendations/products/{alpha[0].external_id}/similar/?k=20", **auth),
        client.get("/api/v1/recommendations/trending/?k=20", **auth),
        client.post(
            "/api/v1/recommendations/batch/",
            {"customer_ids": [c.external_id for c in customers["Alpha"][:3]], "k": 20},
            content_type="application/json",
            **auth,
        ),
    ]
    for response in responses:
        assert response.status_code == 200, response.content
        body = response.json()
        for served in body.get("results", [body]):
            assert served["items"]
            assert not {item["product_id"] for item in served["items"]} & sold_out_external


def test_a_restocked_or_untracked_product_is_recommended(store) -> None:  # type: ignore[no-untyped-def]
    tenant, _cats, _products, customers = store
    alice = customers["Alpha"][0]
    with tenant_context(tenant):
        top = serving.recommend_for_customer(customer_id=alice.pk, filters=serving.Filters(k=3)).items[0].product_id
        product = Product.objects.get(pk=top)
        _stock([(product, 0, 0)])
        assert top not in [i.product_id for i in serving.recommend_for_customer(customer_id=alice.pk).items]
        _stock([(product, 4, 0)])
        assert top in [i.product_id for i in serving.recommend_for_customer(customer_id=alice.pk).items]


def test_cap_and_diversity_change_what_a_shopper_sees(store, client) -> None:  # type: ignore[no-untyped-def]
    tenant, _cats, _products, customers = store
    alice = customers["Alpha"][0]  # buys only Alpha products: her list is Alpha first
    with tenant_context(tenant):
        key = api_key_create(name="partner", scopes=["recommendations:read"]).raw_key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def categories(query: str) -> list[str]:
        response = client.get(f"/api/v1/recommendations/customers/{alice.external_id}/?{query}", **auth)
        assert response.status_code == 200, response.content
        return [item["category"] for item in response.json()["items"]]

    default = categories("k=4")
    assert default.count("Alpha") >= 3
    capped = categories("k=4&max_per_category=1")
    assert sorted(capped) == ["Alpha", "Beta"]  # one of each: the store has two categories
    varied = categories("k=4&diversity=1")
    assert varied[0] == default[0] and varied[1] != varied[0]  # her best item, then one unlike it
    assert len(varied) == 4
    for bad in ("diversity=2", "diversity=nan", "diversity=-0.1"):
        response = client.get(f"/api/v1/recommendations/customers/{alice.external_id}/?{bad}", **auth)
        assert response.status_code == 400 and "diversity" in response.json()["error"]["fields"], bad


def test_a_limited_rerank_is_the_head_of_the_whole_order(store) -> None:  # type: ignore[no-untyped-def]
    # A category page asks for the order up to its own end only: its cards must be those of the full re-ranking.
    tenant, _cats, products, customers = store
    alice = customers["Alpha"][0]
    pool = [p.pk for p in products["Beta"] + products["Alpha"]]  # her own cluster last in the caller's order
    with tenant_context(tenant):
        whole = [i.product_id for i in serving.rerank(customer_id=alice.pk, product_ids=pool).items]
        for limit in (1, 3, len(pool) // 2):
            head = serving.rerank(customer_id=alice.pk, product_ids=pool, limit=limit).items
            assert [item.product_id for item in head] == whole[:limit]
    assert set(whole[:3]) <= {p.pk for p in products["Alpha"]}  # re-ranked: her cluster first, not the caller's order
