"""The lists a shopper or partner is shown: candidates from `candidates`, the business rules of `rules`, each item
rendered with its name, category and the reason in words."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from recommendations.arms import experiment_arm
from recommendations.engine.reasons import Reason, ReasonKind, render_reason
from recommendations.stored_lists import Candidate, unpack_list
from retailsite.commerce.catalog_snapshot import CatalogSnapshot
from retailsite.commerce.live_state import GONE, LiveState

from . import candidates as sources
from .candidates import MAX_K
from .memo import RequestMemo, serving_request
from .rules import Rules, choose, path_similarity

UNRANKED = "unranked"  # an item of the caller's list the model knows nothing about: no reason to give


@dataclass(frozen=True)
class Filters:
    """Serve-time business rules chosen by the caller (the tenant's defaults fill the gaps)."""

    k: int = 10
    category_id: int | None = None  # includes its sub-categories
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    exclude_product_ids: frozenset[int] = frozenset()
    include_purchased: bool | None = None  # None: the tenant's `exclude_purchased` setting decides
    max_per_category: int | None = None  # None: the tenant's `max_per_category` setting
    diversity: float = 0.0  # 0: rank order; up to 1: MMR re-ranking for variety (see rules.py)
    # Products to leave out if enough others remain (a page's later lists avoid repeating its earlier ones):
    # with fewer than `min_when_avoiding` items left, the list is chosen as if none were avoided.
    avoid_product_ids: frozenset[int] = frozenset()
    min_when_avoiding: int = 0


@dataclass(frozen=True)
class ServedItem:
    product_id: int
    external_id: str
    name: str
    price: Decimal
    category_id: int | None
    category_path: str
    score: float
    reason: str
    reason_kind: str
    anchor_product_id: int | None = None


@dataclass
class ServedList:
    recommendation_id: str
    model_version_id: int | None
    surface: str
    items: list[ServedItem] = field(default_factory=list)
    # Built from the shopper's recent views, carts and wishes: a new one of those may change the list.
    from_recent_activity: bool = False


def new_recommendation_id(version_id: int | None) -> str:
    """Carries the model version, so events citing it are attributed without a write per request."""
    return f"v{version_id or 0}-{uuid.uuid4().hex[:16]}"


def version_of_recommendation_id(recommendation_id: str) -> int | None:
    head = recommendation_id.split("-", 1)[0]
    if head.startswith("v") and head[1:].isdigit():
        return int(head[1:]) or None
    return None


# -- the lists ---------------------------------------------------------------------------------------------------


def recommend_for_customer(
    *,
    customer_id: int | None,
    session_id: str = "",
    filters: Filters = Filters(),
    personalized: bool = True,
    surface: str = "for_you",
) -> ServedList:
    """ "Recommended for you": the customer's precomputed list, or a session/popularity fallback.

    When the store runs an online experiment, the shopper's arm (recommendations/arms.py) picks the model version
    and rule settings, and is named in the list's recommendation id.
    """
    arm = experiment_arm(customer_id, session_id) if personalized else None
    if arm is not None:
        filters = arm.filters(filters)
    with serving_request() as memo:
        if arm is not None and arm.model_version_id not in (None, memo.version_id):
            # The arm serves another version: a memo of its own (this request's holds the active version's lists).
            with serving_request(version_id=arm.model_version_id, fresh=True) as arm_memo:
                served = _for_you(arm_memo, customer_id, session_id, filters, personalized, surface)
        else:
            served = _for_you(memo, customer_id, session_id, filters, personalized, surface)
    if arm is not None:
        served.recommendation_id = arm.name(served.recommendation_id)
    return served


def _for_you(
    memo: RequestMemo, customer_id: int | None, session_id: str, filters: Filters, personalized: bool, surface: str
) -> ServedList:
    candidates: list[Candidate] = []
    if personalized and customer_id is not None:
        candidates = sources.precomputed_for_customer(memo, customer_id)
    from_recent = personalized and not candidates
    if from_recent:
        candidates = sources.because_recent(memo, customer_id=customer_id, session_id=session_id, limit=50)
    if personalized and customer_id is not None and filters.include_purchased:
        # Precomputed lists leave bought items out (the default); asked for, they come back after them.
        bought = sources.purchased(memo, customer_id)
        candidates = candidates + [Candidate(pid, 0.0, ReasonKind.PERSONALIZED) for pid in bought]
    served = _serve(memo, candidates, filters, customer_id=customer_id if personalized else None, surface=surface)
    served.from_recent_activity = from_recent
    return served


def because_viewed(
    *, customer_id: int | None, session_id: str = "", filters: Filters = Filters(), top_up: bool = True
) -> ServedList:
    """Items similar to what the shopper viewed or carted recently (live, no retrain needed)."""
    with serving_request() as memo:
        candidates = sources.because_recent(memo, customer_id=customer_id, session_id=session_id, limit=60)
        served = _serve(memo, candidates, filters, customer_id=customer_id, surface="because_viewed", top_up=top_up)
        served.from_recent_activity = True
        return served


def trending(*, filters: Filters = Filters()) -> ServedList:
    with serving_request() as memo:
        key = f"trending:category:{filters.category_id}" if filters.category_id else "trending"
        candidates = sources.ranked(memo, key) or sources.ranked(memo, "trending")
        return _serve(memo, candidates + sources.ranked(memo, "popular"), filters, customer_id=None, surface="trending")


def popular_with_followed(*, customer_id: int, filters: Filters = Filters()) -> ServedList:
    """What the people a customer follows bought recently, weighted by how many of them bought it."""
    with serving_request() as memo:
        rows = sources.followed_bought(memo, customer_id)
        candidates = [Candidate(pid, buyers, ReasonKind.FOLLOWED_BOUGHT) for pid, buyers in rows]
        return _serve(memo, candidates, filters, customer_id=customer_id, surface="followed", top_up=False)


def similar_items(*, product_id: int, filters: Filters = Filters()) -> ServedList:
    return _neighbours(product_id, "similar", ReasonKind.SIMILAR_TO, filters)


def bought_together(*, product_id: int, filters: Filters = Filters()) -> ServedList:
    return _neighbours(product_id, "bought_together", ReasonKind.BOUGHT_TOGETHER, filters)


def _neighbours(product_id: int, column: str, kind: ReasonKind, filters: Filters) -> ServedList:
    with serving_request() as memo:
        stored = sources.neighbour_lists(memo, [product_id], column).get(product_id)
        if not stored and column == "similar":
            stored = sources.same_category_fallback(product_id)
        candidates = [
            c._replace(kind=kind, anchor=product_id) for c in unpack_list(stored, kind) if c.product_id != product_id
        ]
        filters = replace(
            filters,
            exclude_product_ids=filters.exclude_product_ids | {product_id},
            include_purchased=True if filters.include_purchased is None else filters.include_purchased,
        )
        return _serve(memo, candidates, filters, customer_id=None, surface=column, top_up=False)


def rerank(
    *, customer_id: int | None, product_ids: Sequence[int], session_id: str = "", limit: int | None = None
) -> ServedList:
    """Order the caller's own list for this shopper; unknown-to-the-model items keep their order, last.

    `limit`: only the first so many of the order are served (at most MAX_K in any case). The order does not depend on
    it — the first n items are the same whatever the limit — so a page asks for the positions up to its own end.
    """
    with serving_request() as memo:
        personal = sources.precomputed_for_customer(memo, customer_id) if customer_id else []
        recent = sources.because_recent(memo, customer_id=customer_id, session_id=session_id, limit=100)
        popular = sources.ranked(memo, "popular")
        wanted = list(dict.fromkeys(product_ids))
        position = {pid: index for index, pid in enumerate(wanted)}
        best: dict[int, Candidate] = {}
        for weight, source in ((3.0, personal), (2.0, recent), (1.0, popular)):
            top = max((c.score for c in source), default=1.0) or 1.0
            for candidate in source:
                if candidate.product_id not in position:
                    continue  # only the caller's products are ordered
                scaled = weight + candidate.score / top
                if candidate.product_id not in best or best[candidate.product_id].score < scaled:
                    best[candidate.product_id] = candidate._replace(score=scaled)
        ordered = sorted(wanted, key=lambda pid: (-(best[pid].score if pid in best else 0.0), position[pid]))
        candidates = [best.get(pid, Candidate(pid, 0.0, UNRANKED)) for pid in ordered]
        filters = Filters(
            k=len(wanted) if limit is None else min(len(wanted), limit), include_purchased=True, max_per_category=0
        )
        return _serve(
            memo, candidates, filters, customer_id=None, surface="rerank", top_up=False, keep_unavailable=True
        )


# -- rules and rendering -----------------------------------------------------------------------------------------


def _serve(
    memo: RequestMemo,
    candidates: Sequence[Candidate],
    filters: Filters,
    *,
    customer_id: int | None,
    surface: str,
    top_up: bool = True,
    keep_unavailable: bool = False,
) -> ServedList:
    """The business rules (`rules.choose`) over the candidates in order, then each kept item rendered."""
    include_purchased = filters.include_purchased
    if include_purchased is None:
        include_purchased = not memo.setting("exclude_purchased")
    max_per_category = filters.max_per_category
    if max_per_category is None:
        max_per_category = int(memo.setting("max_per_category"))  # type: ignore[call-overload]
    excluded: frozenset[int] | set[int] = filters.exclude_product_ids
    if customer_id is not None and not include_purchased:
        excluded = excluded | sources.purchased(memo, customer_id)
    catalog = memo.catalog
    rules = Rules(
        k=max(1, min(int(filters.k), MAX_K)),
        excluded=excluded,
        allowed_categories=catalog.subtree(filters.category_id) if filters.category_id else None,
        min_price=filters.min_price,
        max_price=filters.max_price,
        max_per_category=max_per_category,
        diversity=min(max(float(filters.diversity), 0.0), 1.0),
        keep_unavailable=keep_unavailable,
        avoid=filters.avoid_product_ids,
        min_when_avoiding=filters.min_when_avoiding,
    )

    def states(product_ids: list[int]) -> dict[int, LiveState]:
        return {pid: state for pid, state in memo.states(product_ids).items() if state is not GONE}

    def similarity(a: int | None, b: int | None) -> float:
        if a is None or b is None:
            return 0.0
        if a == b:
            return 1.0
        return path_similarity(catalog.categories.get(a, ("", ""))[0], catalog.categories.get(b, ("", ""))[0])

    chosen = choose(
        candidates,
        rules,
        states=states,
        popular=(lambda: sources.ranked(memo, "popular")) if top_up else None,
        similarity=similarity,
    )
    catalog.add_products({c.product_id for c, _ in chosen} | {c.anchor for c, _ in chosen if c.anchor})
    catalog.add_categories({state.category_id for _, state in chosen})
    items = [_served(candidate, state, catalog) for candidate, state in chosen]
    return ServedList(new_recommendation_id(memo.version_id), memo.version_id, surface, items)


def _served(candidate: Candidate, state: LiveState, catalog: CatalogSnapshot) -> ServedItem:
    _available, price, category_id = state
    external_id, name = catalog.products.get(candidate.product_id, ("", ""))
    category_path, category_name = catalog.categories.get(category_id, ("", "")) if category_id else ("", "")
    if candidate.kind == UNRANKED:
        reason, kind_value = "", UNRANKED
    else:
        known = candidate.kind in ReasonKind._value2member_map_
        kind = ReasonKind(candidate.kind) if known else ReasonKind.PERSONALIZED
        category = candidate.category if candidate.category is not None else category_id
        reason = render_reason(
            Reason(kind, candidate.anchor, category),
            lambda pid: catalog.products.get(pid, ("", ""))[1],
            lambda cid: category_name if cid == category_id else "",
        )
        kind_value = kind.value
    return ServedItem(
        product_id=candidate.product_id,
        external_id=external_id,
        name=name,
        price=price,
        category_id=category_id,
        category_path=category_path,
        score=candidate.score,
        reason=reason,
        reason_kind=kind_value,
        anchor_product_id=candidate.anchor,
    )
