"""The serve-time business rules — the one implementation, applied to every list a shopper or partner is shown.

Candidates come in rank order. A candidate is kept if it still exists and is available (active and, where the
store tracks stock, in stock or on order), is not excluded (the caller's ids, and the customer's purchases unless
asked for), lies in the allowed categories and the price range; then diversity: at most N per category, and
optionally MMR (Carbonell & Goldstein 1998), which trades relevance for variety against the items already
picked: (1 - diversity) * relevance - diversity * (max similarity to a picked item), relevance min-max scaled
so `diversity` means the same for any list, similarity the share of category path two products have in common.
A list that runs short is topped up from popular items under the same rules.

Plain Python over tuples, no database: the caller passes how to read product states and the popular list.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from recommendations.stored_lists import Candidate

if TYPE_CHECKING:
    from retailsite.commerce.live_state import LiveState

Chosen = list[tuple[Candidate, "LiveState"]]
# Candidates whose state is read at once, beyond twice the list's length, when picking in rank order.
FIRST_CHUNK = 8


def first_chunk(k: int) -> int:
    """How many of a list's candidates in rank order the rules read states for first, to keep k of them."""
    return FIRST_CHUNK + 2 * k


@dataclass(frozen=True)
class Rules:
    """One list's rules, resolved (the caller's filters with the store's defaults filled in)."""

    k: int
    excluded: Collection[int] = frozenset()
    allowed_categories: Collection[int] | None = None  # None: every category
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    max_per_category: int = 0  # 0: no cap
    diversity: float = 0.0  # 0: rank order; up to 1: MMR, more variety
    keep_unavailable: bool = False  # the caller's own list (re-rank): unavailable items stay, still ordered
    # Left out if at least `min_when_avoiding` items remain without them (a page's later lists avoid its earlier).
    avoid: Collection[int] = frozenset()
    min_when_avoiding: int = 0


def choose(
    candidates: Sequence[Candidate],
    rules: Rules,
    *,
    states: Callable[[list[int]], Mapping[int, LiveState]],
    popular: Callable[[], Sequence[Candidate]] | None = None,
    similarity: Callable[[int | None, int | None], float] | None = None,
) -> Chosen:
    """The kept candidates with their states, best first, at most `rules.k`.

    `states(ids)`: the live state of the products that exist (others are left out of the result);
    `popular()`: the top-up list (None: no top-up); `similarity(category, category)` for MMR.
    """
    top_up: list[Sequence[Candidate]] = []

    def popular_once() -> Sequence[Candidate]:
        if not top_up:
            top_up.append(popular() if popular is not None else ())
        return top_up[0]

    def select(avoid: Collection[int]) -> Chosen:
        seen: set[int] = set()
        chosen: Chosen = []
        per_category: dict[int | None, int] = {}
        for source in (candidates, None):
            if source is None:
                if popular is None or len(chosen) >= rules.k:
                    break
                source = popular_once()  # never a short list: popular items follow, under the same rules
            if rules.diversity > 0 and similarity is not None:
                _pick_mmr(_eligible(source, rules, seen, avoid, states), rules, chosen, per_category, similarity)
                continue
            # In rank order the first k kept items are the answer: states are read for a chunk of the source at a
            # time, until k are kept (a list of hundreds usually needs its first few dozen).
            size, start = first_chunk(rules.k), 0
            while start < len(source) and len(chosen) < rules.k:
                _pick_in_order(
                    _eligible(source[start : start + size], rules, seen, avoid, states), rules, chosen, per_category
                )
                start, size = start + size, size * 4
        return chosen

    chosen = select(rules.avoid)
    if rules.avoid and len(chosen) < min(rules.k, rules.min_when_avoiding):
        chosen = select(())  # so little is left that repeating some beats a near-empty list
    return chosen


def _eligible(
    source: Sequence[Candidate],
    rules: Rules,
    seen: set[int],
    avoid: Collection[int],
    states: Callable[[list[int]], Mapping[int, LiveState]],
) -> Chosen:
    """The source's candidates that pass the item rules (a product seen in an earlier source counts once)."""
    ordered = []
    for candidate in source:
        if candidate.product_id not in seen:
            seen.add(candidate.product_id)
            if candidate.product_id not in rules.excluded and candidate.product_id not in avoid:
                ordered.append(candidate)
    if not ordered:
        return []
    found = states([c.product_id for c in ordered])
    pool: Chosen = []
    for candidate in ordered:
        state = found.get(candidate.product_id)
        if state is None:
            continue  # no such product (any more) in this store
        available, price, category_id = state
        if not available and not rules.keep_unavailable:
            continue
        if rules.allowed_categories is not None and category_id not in rules.allowed_categories:
            continue
        if rules.min_price is not None and price < rules.min_price:
            continue
        if rules.max_price is not None and price > rules.max_price:
            continue
        pool.append((candidate, state))
    return pool


def _under_cap(category_id: int | None, rules: Rules, per_category: dict[int | None, int]) -> bool:
    if not rules.max_per_category:
        return True
    count = per_category.get(category_id, 0)
    if count >= rules.max_per_category:
        return False
    per_category[category_id] = count + 1
    return True


def _pick_in_order(pool: Chosen, rules: Rules, chosen: Chosen, per_category: dict[int | None, int]) -> None:
    for candidate, state in pool:
        if len(chosen) >= rules.k:
            return
        if _under_cap(state.category_id, rules, per_category):
            chosen.append((candidate, state))


def _pick_mmr(
    pool: Chosen,
    rules: Rules,
    chosen: Chosen,
    per_category: dict[int | None, int],
    similarity: Callable[[int | None, int | None], float],
) -> None:
    """Greedy MMR over the pool, after what `chosen` already holds (its items count as picked)."""
    if not pool:
        return
    scores = [candidate.score for candidate, _ in pool]
    low, span = min(scores), max(scores) - min(scores)
    relevance = [(score - low) / span if span > 0 else 1.0 for score in scores]
    weight = rules.diversity
    categories = [state.category_id for _, state in pool]
    max_similarity = [max((similarity(c, s.category_id) for _, s in chosen), default=0.0) for c in categories]
    left = list(range(len(pool)))
    while left and len(chosen) < rules.k:
        best = max(left, key=lambda i: ((1 - weight) * relevance[i] - weight * max_similarity[i], -i))
        left.remove(best)
        if not _under_cap(categories[best], rules, per_category):
            continue
        chosen.append(pool[best])
        for i in left:
            max_similarity[i] = max(max_similarity[i], similarity(categories[i], categories[best]))


def path_similarity(path_a: str, path_b: str) -> float:
    """The share of category path two products have in common: 1 in one category, 0 under different roots.

    "Home > Kitchen > Knives" and "Home > Kitchen > Pans" share 2 of 3 levels.
    """
    if not path_a or not path_b:
        return 0.0
    a, b = path_a.split(" > "), path_b.split(" > ")
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared / max(len(a), len(b))
