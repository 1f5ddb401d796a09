"""Recommendation sections of storefront pages, built from the serving API's lists.

A `Section` is what a template draws: a title, product cards each with the reason it is
there, the list's recommendation id (carried on every link as `?rid=` so a click is
attributed), and a note when personalization is off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.http import HttpRequest

from recommendations.serving import (
    Filters,
    ServedItem,
    ServedList,
    because_viewed,
    bought_together,
    popular_with_followed,
    recommend_for_customer,
    rerank,
    similar_items,
    trending,
)
from retailsite.commerce.models import Product

from . import selectors
from .links import store_url
from .shopper import Shopper

PERSONALIZATION_OFF_NOTE = "Personalization is off — showing popular items."
PERSONALIZATION_OFF_ITEM_NOTE = "Personalization is off — based on this product only, not on your activity."
CARD_TONES = 6
HOME_SECTION_SIZE = 8
MIN_DISTINCT_ITEMS = HOME_SECTION_SIZE // 2
# How many of a category's most popular products the shopper's model re-orders; the rest follow by popularity.
RERANK_POOL = 300
# Search: how much the text match counts against the shopper's model when ordering results.
TEXT_WEIGHT = 0.6


@dataclass(frozen=True)
class Card:
    product_id: int
    name: str
    price: Decimal
    category_path: str
    reason: str
    url: str
    initials: str
    tone: int


@dataclass
class Section:
    slug: str  # the element id and the `data-section` hook tests and styles use
    title: str
    cards: list[Card] = field(default_factory=list)
    recommendation_id: str = ""
    note: str = ""
    surface: str = ""


def initials(name: str) -> str:
    letters = [word[0] for word in name.split() if word[:1].isalnum()]
    return "".join(letters[:2]).upper() or "?"


def tone(category_id: int | None, product_id: int) -> int:
    """A stable colour per category for the product tiles (the catalog has no pictures)."""
    return (category_id if category_id is not None else product_id) % CARD_TONES


def card_for_item(request: HttpRequest, item: ServedItem, recommendation_id: str, *, reason: str | None = None) -> Card:
    return Card(
        product_id=item.product_id, name=item.name, price=item.price, category_path=item.category_path,
        reason=item.reason if reason is None else reason,
        url=store_url(request, "storefront:product", product_id=item.product_id,
                      query={"rid": recommendation_id}),
        initials=initials(item.name), tone=tone(item.category_id, item.product_id),
    )


def section_from(request: HttpRequest, served: ServedList, *, slug: str, title: str, note: str = "",
                 only_kinds: tuple[str, ...] = ()) -> Section:
    items = [item for item in served.items if not only_kinds or item.reason_kind in only_kinds]
    return Section(slug=slug, title=title, note=note, recommendation_id=served.recommendation_id,
                   surface=served.surface,
                   cards=[card_for_item(request, item, served.recommendation_id) for item in items])


def _distinct(fetch: Callable[[Filters], ServedList], filters: Filters, shown: set[int]) -> ServedList:
    """A list without the products already on the page — unless the catalog is so small that little
    would be left, in which case repeating some beats a near-empty shelf."""
    if not shown:
        return fetch(filters)
    served = fetch(replace(filters, exclude_product_ids=filters.exclude_product_ids | frozenset(shown)))
    return served if len(served.items) >= MIN_DISTINCT_ITEMS else fetch(filters)


def home_sections(request: HttpRequest, shopper: Shopper) -> list[Section]:
    """The home page: for you, because you viewed / bought, trending, and what followed people buy.

    The specific sections ("because you viewed / bought X") are computed first; the broader ones then
    leave out what those already show, so the page does not repeat itself.
    """
    filters = Filters(k=HOME_SECTION_SIZE)
    off_note = "" if shopper.personalized else PERSONALIZATION_OFF_NOTE
    shown: set[int] = set()

    def keep(section: Section | None, *, unless_repeated: bool = False) -> Section | None:
        if section is None or not section.cards:
            return None
        if unless_repeated and all(card.product_id in shown for card in section.cards):
            return None  # a small catalog: the same products again under another title adds nothing
        shown.update(card.product_id for card in section.cards)
        return section

    viewed_section = bought_section = followed_section = None
    if shopper.personalized:
        viewed = selectors.recently_viewed_product(customer_id=shopper.customer_id, visitor_id=shopper.visitor_id)
        if viewed is not None:
            viewed_section = keep(section_from(
                request, because_viewed(customer_id=shopper.customer_id, session_id=shopper.visitor_id,
                                        filters=filters),
                slug="because-viewed", title=f"Because you viewed {viewed.name}", only_kinds=("because_viewed",)))
        bought = selectors.last_purchased_product(customer_id=shopper.customer_id) if shopper.customer_id else None
        if bought is not None:
            served = _distinct(lambda f: bought_together(product_id=bought.pk, filters=f), filters, shown)
            if not served.items:
                served = _distinct(lambda f: similar_items(product_id=bought.pk, filters=f), filters, shown)
            bought_section = keep(section_from(request, served, slug="because-bought",
                                               title=f"Because you bought {bought.name}"), unless_repeated=True)
    for_you = keep(section_from(
        request,
        _distinct(lambda f: recommend_for_customer(
            customer_id=shopper.serving_customer_id, session_id=shopper.serving_session_id, filters=f,
            personalized=shopper.personalized), filters, shown),
        slug="for-you", title="Recommended for you" if shopper.personalized else "Popular right now",
        note=off_note,
    ))
    if shopper.personalized and shopper.customer_id is not None and selectors.customer_follows_anyone(
            customer_id=shopper.customer_id):
        followed_section = keep(section_from(
            request, _distinct(lambda f: popular_with_followed(customer_id=shopper.customer_id, filters=f),
                               filters, shown),
            slug="followed", title="Popular with people you follow"), unless_repeated=True)
    trending_now = keep(section_from(request, _distinct(lambda f: trending(filters=f), filters, shown),
                                     slug="trending", title="Trending now", note=off_note))
    ordered = (for_you, viewed_section, bought_section, trending_now, followed_section)
    return [section for section in ordered if section is not None]


def product_sections(request: HttpRequest, shopper: Shopper, product_id: int) -> list[Section]:
    """A product page: similar items and items frequently bought together with it (item-based lists)."""
    note = "" if shopper.personalized else PERSONALIZATION_OFF_ITEM_NOTE
    sections = [
        section_from(request, similar_items(product_id=product_id, filters=Filters(k=8)),
                     slug="similar", title="Similar items", note=note),
        section_from(request, bought_together(product_id=product_id, filters=Filters(k=4)),
                     slug="bought-together", title="Frequently bought together", note=note),
    ]
    return [section for section in sections if section.cards]


def ranked_cards(request: HttpRequest, shopper: Shopper, product_ids: list[int], *,
                 text_rank: dict[int, float] | None = None, fallback_reason: str = "") -> list[Card]:
    """Order the given products for the shopper (`rerank`), optionally blended with a text-match rank.

    Without personalization consent the re-ranking uses popularity only. An item the model knows
    nothing about shows `fallback_reason` rather than a made-up "recommended for you".
    """
    pool, rest = product_ids[:RERANK_POOL], product_ids[RERANK_POOL:]
    served = rerank(customer_id=shopper.serving_customer_id, product_ids=pool, session_id=shopper.serving_session_id)
    items = list(served.items)
    returned = {item.product_id for item in items}
    # rerank returns at most its page size; whatever it left out keeps the caller's order, after it.
    rest = [pid for pid in pool if pid not in returned] + rest
    if text_rank:
        top_text = max(text_rank.values(), default=0.0) or 1.0
        top_model = max((item.score for item in items), default=0.0) or 1.0
        items.sort(key=lambda item: -(TEXT_WEIGHT * text_rank.get(item.product_id, 0.0) / top_text
                                      + (1 - TEXT_WEIGHT) * item.score / top_model))
    cards = [card_for_item(request, item, served.recommendation_id,
                           reason=item.reason if item.score > 0 else fallback_reason) for item in items]
    if rest:
        by_id = Product.objects.select_related("category").in_bulk(rest)
        for pid in rest:
            product = by_id.get(pid)
            if product is not None:
                cards.append(Card(
                    product_id=pid, name=product.name, price=product.price,
                    category_path=product.category.path if product.category else "", reason=fallback_reason,
                    url=store_url(request, "storefront:product", product_id=pid), initials=initials(product.name),
                    tone=tone(product.category_id, pid)))
    return cards
