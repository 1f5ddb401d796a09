"""Recommendation sections of storefront pages, built from the serving API's lists.

A `Section` is what a template draws: a title, product cards each with the reason it is
there, the list's recommendation id (carried on every link as `?rid=` so a click is
attributed), and a note when personalization is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from recommendations.selectors import active_version_id
from recommendations.services import active_version_cache_key
from recommendations.serving import (
    Filters,
    ServedItem,
    ServedList,
    because_viewed,
    bought_together,
    popular_with_followed,
    recent_product_ids,
    recommend_for_customer,
    rerank,
    serving_request,
    shopper_page_inputs,
    similar_items,
    trending,
)
from retailsite.commerce.catalog_snapshot import catalog_snapshot
from retailsite.commerce.live_state import GONE, catalog_live_states
from retailsite.privacy.cache import customer_cache_key, customer_cache_version, customer_cache_version_key
from retailsite.safe_cache import cache_get_many, cache_set
from retailsite.storefront.apps import HOME_CACHE_NAMESPACE

from . import selectors
from .links import store_url
from .shopper import Shopper
from .templatetags.storefront import card_html, section_html

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
    tone: int

    @property
    def initials(self) -> str:
        # Drawn only when a card's markup is not kept yet (`card_html`): most cards never need it.
        return initials(self.name)


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


class ProductUrls:
    """Product page URLs of the current store, reversed once per page rather than once per card."""

    _MARKER = 987654321

    def __init__(self, request: HttpRequest) -> None:
        self._head, self._tail = store_url(request, "storefront:product", product_id=self._MARKER).split(
            str(self._MARKER), 1
        )
        self._queries: dict[str, str] = {}  # a list's cards share its recommendation id: encoded once

    def url(self, product_id: int, recommendation_id: str = "") -> str:
        url = f"{self._head}{int(product_id)}{self._tail}"
        if not recommendation_id:
            return url
        query = self._queries.get(recommendation_id)
        if query is None:
            query = self._queries[recommendation_id] = urlencode({"rid": recommendation_id})
        return f"{url}?{query}"


def card_for_item(
    request: HttpRequest,
    item: ServedItem,
    recommendation_id: str,
    *,
    reason: str | None = None,
    urls: ProductUrls | None = None,
) -> Card:
    urls = urls or ProductUrls(request)
    return Card(
        product_id=item.product_id,
        name=item.name,
        price=item.price,
        category_path=item.category_path,
        reason=item.reason if reason is None else reason,
        url=urls.url(item.product_id, recommendation_id),
        tone=tone(item.category_id, item.product_id),
    )


def section_from(
    request: HttpRequest,
    served: ServedList,
    *,
    slug: str,
    title: str,
    note: str = "",
    only_kinds: tuple[str, ...] = (),
    urls: ProductUrls | None = None,
) -> Section:
    urls = urls or ProductUrls(request)
    items = [item for item in served.items if not only_kinds or item.reason_kind in only_kinds]
    return Section(
        slug=slug,
        title=title,
        note=note,
        recommendation_id=served.recommendation_id,
        surface=served.surface,
        cards=[card_for_item(request, item, served.recommendation_id, urls=urls) for item in items],
    )


def home_sections(request: HttpRequest, shopper: Shopper) -> list[Section]:
    """The home page: for you, because you viewed / bought, trending, and what followed people buy.

    The specific sections ("because you viewed / bought X") are computed first; the broader ones then
    leave out what those already show (unless so little would be left that repeating some beats a
    near-empty shelf), so the page does not repeat itself. What several sections need — the shopper's
    recent products, purchases, and the live state of products — is read once for the page.
    """
    off_note = "" if shopper.personalized else PERSONALIZATION_OFF_NOTE
    shown: set[int] = set()
    catalog = catalog_snapshot()
    urls = ProductUrls(request)

    def filters() -> Filters:
        return Filters(k=HOME_SECTION_SIZE, avoid_product_ids=frozenset(shown), min_when_avoiding=MIN_DISTINCT_ITEMS)

    def keep(
        served: ServedList,
        *,
        slug: str,
        title: str,
        note: str = "",
        only_kinds: tuple[str, ...] = (),
        unless_repeated: bool = False,
    ) -> Section | None:
        section = section_from(request, served, slug=slug, title=title, note=note, only_kinds=only_kinds, urls=urls)
        if not section.cards:
            return None
        if unless_repeated and all(card.product_id in shown for card in section.cards):
            return None  # a small catalog: the same products again under another title adds nothing
        shown.update(card.product_id for card in section.cards)
        return section

    customer_id = shopper.customer_id if shopper.personalized else None
    viewed_section = bought_section = followed_section = None
    # The page is kept for minutes anyway (home_sections_html): seconds-old product state is fine here.
    with serving_request(live=catalog_live_states()):
        # A signed-in shopper's personal inputs (purchases, recent products, their list, followed-bought) in one
        # round trip, kept in the request's memo for the sections; an anonymous visitor has only their session's
        # recent products.
        inputs = (
            shopper_page_inputs(customer_id=customer_id, session_id=shopper.visitor_id)
            if customer_id is not None
            else None
        )
        purchased = inputs.purchased_latest_first if inputs is not None else []
        if shopper.personalized:
            recent = (
                inputs.recent
                if inputs is not None
                else recent_product_ids(customer_id=customer_id, session_id=shopper.visitor_id)
            )
            if recent:
                viewed_section = keep(
                    because_viewed(customer_id=customer_id, session_id=shopper.visitor_id, filters=filters()),
                    slug="because-viewed",
                    title=f"Because you viewed {catalog.product_name(recent[0])}",
                    only_kinds=("because_viewed",),
                )
            if purchased:
                bought_id = purchased[0]
                served = bought_together(product_id=bought_id, filters=filters())
                if not served.items:
                    served = similar_items(product_id=bought_id, filters=filters())
                bought_section = keep(
                    served,
                    slug="because-bought",
                    title=f"Because you bought {catalog.product_name(bought_id)}",
                    unless_repeated=True,
                )
        for_you = keep(
            recommend_for_customer(
                customer_id=shopper.serving_customer_id,
                session_id=shopper.serving_session_id,
                filters=filters(),
                personalized=shopper.personalized,
            ),
            slug="for-you",
            title="Recommended for you" if shopper.personalized else "Popular right now",
            note=off_note,
        )
        if customer_id is not None:
            followed_section = keep(
                popular_with_followed(customer_id=customer_id, filters=filters()),
                slug="followed",
                title="Popular with people you follow",
                unless_repeated=True,
            )
        trending_now = keep(trending(filters=filters()), slug="trending", title="Trending now", note=off_note)
    ordered = (for_you, viewed_section, bought_section, trending_now, followed_section)
    return [section for section in ordered if section is not None]


# The home page's sections, rendered, are kept per shopper: computing them is most of the page's cost.
# An entry is only used while everything it was built from is unchanged: the model version (which also
# fixes the trending and popular lists), the catalog version (names, prices, what is active), the
# shopper's consent and visitor id, and their activity stamp (their latest event, order and follow, and
# the latest order of anyone they follow; read with one small query on every visit) — so a product view
# or an add-to-cart changes "because you viewed" on the very next page load. The time limit only bounds
# what Redis holds for shoppers who do not come back, and how long a purchase stays counted in "popular
# with people you follow" after it leaves that section's one-year window.
HOME_SECTIONS_SECONDS = 30 * 60
HOME_SECTIONS_FORMAT = 1  # bump when the markup of the sections changes


def home_sections_html(request: HttpRequest, shopper: Shopper) -> str:
    """The home page's recommendation sections as HTML ('' when there are none)."""
    tenant = shopper.tenant
    key = customer_cache_key(
        HOME_CACHE_NAMESPACE, tenant.pk, customer_id=shopper.customer_id, visitor_id=shopper.visitor_id
    )
    version_key = active_version_cache_key(tenant.pk)
    wanted = [key, version_key]
    if shopper.customer_id is not None:
        wanted.append(customer_cache_version_key(tenant.pk, shopper.customer_id))
    found = cache_get_many(wanted)  # one round trip for all
    # Erasure and consent withdrawal bump this: an entry re-cached by a racing request is never served.
    customer_version = customer_cache_version(
        tenant.pk, shopper.customer_id, found=found.get(wanted[-1]) if len(wanted) == 3 else None
    )
    version = found.get(version_key)
    if version is None:
        version = active_version_id() or 0
    stamp = (
        HOME_SECTIONS_FORMAT,
        version or 0,
        catalog_snapshot().token,
        shopper.personalized,
        shopper.visitor_id,
        shopper.customer_id,
        tenant.currency,
        customer_version,
        shopper.activity
        if shopper.activity is not None
        else selectors.shopper_activity_stamp(customer_id=shopper.customer_id, visitor_id=shopper.visitor_id),
    )
    cached = found.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == stamp:
        return mark_safe(cached[1])  # our own template's output, stored below
    with serving_request(version_id=version or None):  # read above: the sections need not ask for it again
        sections = home_sections(request, shopper)
    html = ""
    if sections:
        html = "\n".join(section_html(section, tenant.currency) for section in sections)
    cache_set(key, (stamp, html), HOME_SECTIONS_SECONDS)
    return mark_safe(html)


def product_sections(request: HttpRequest, shopper: Shopper, product_id: int) -> list[Section]:
    """A product page: similar items and items frequently bought together with it (item-based lists).

    The products' live state is the per-process one (seconds old): the page's parts are kept under the catalog
    version anyway (product_page.py).
    """
    note = "" if shopper.personalized else PERSONALIZATION_OFF_ITEM_NOTE
    with serving_request(live=catalog_live_states()):
        sections = [
            section_from(
                request,
                similar_items(product_id=product_id, filters=Filters(k=8)),
                slug="similar",
                title="Similar items",
                note=note,
            ),
            section_from(
                request,
                bought_together(product_id=product_id, filters=Filters(k=4)),
                slug="bought-together",
                title="Frequently bought together",
                note=note,
            ),
        ]
    return [section for section in sections if section.cards]


def ranked_cards(
    request: HttpRequest,
    shopper: Shopper,
    product_ids: list[int],
    *,
    text_rank: dict[int, float] | None = None,
    fallback_reason: str = "",
    keep: slice | None = None,
) -> list[Card]:
    """Order the given products for the shopper (`rerank`), optionally blended with a text-match rank.

    Without personalization consent the re-ranking uses popularity only. An item the model knows
    nothing about shows `fallback_reason` rather than a made-up "recommended for you". `keep`: only these
    positions of the ordered result get cards (a page of it).

    The products' state (available, price, category) is the per-process one (`catalog_live_states`, as on the home
    and product pages: reloaded at once by catalog and stock writes, at most a minute old otherwise): what a
    category or search page lists was chosen from the catalog moments ago anyway.
    """
    pool, rest = product_ids[:RERANK_POOL], product_ids[RERANK_POOL:]
    # Blended with the text rank every re-ranked item may move; otherwise the page needs the order up to its end only.
    limit = keep.stop if keep is not None and keep.stop is not None and not text_rank else None
    with serving_request(live=catalog_live_states()) as memo:
        served = rerank(
            customer_id=shopper.serving_customer_id,
            product_ids=pool,
            session_id=shopper.serving_session_id,
            limit=limit,
        )
        items = list(served.items)
        returned = {item.product_id for item in items}
        # rerank returns at most its page size; whatever it left out keeps the caller's order, after it.
        rest = [pid for pid in pool if pid not in returned] + rest
        if text_rank:
            top_text = max(text_rank.values(), default=0.0) or 1.0
            top_model = max((item.score for item in items), default=0.0) or 1.0
            items.sort(
                key=lambda item: (
                    -(
                        TEXT_WEIGHT * text_rank.get(item.product_id, 0.0) / top_text
                        + (1 - TEXT_WEIGHT) * item.score / top_model
                    )
                )
            )
        if keep is not None:
            ordered: list[tuple[str, Any]] = [*[("item", item) for item in items], *[("rest", pid) for pid in rest]][
                keep
            ]
            items = [value for kind, value in ordered if kind == "item"]
            rest = [value for kind, value in ordered if kind == "rest"]
        urls = ProductUrls(request)
        cards = [
            card_for_item(
                request,
                item,
                served.recommendation_id,
                reason=item.reason if item.score > 0 else fallback_reason,
                urls=urls,
            )
            for item in items
        ]
        if rest:
            catalog = memo.catalog
            states = memo.states(rest)
            catalog.add_products(rest)
            catalog.add_categories({state.category_id for state in states.values()})
            for pid in rest:
                state = states[pid]
                if state is GONE:
                    continue  # no such product (any more)
                category_path = catalog.categories.get(state.category_id, ("", ""))[0] if state.category_id else ""
                name = catalog.product_name(pid)
                cards.append(
                    Card(
                        product_id=pid,
                        name=name,
                        price=state.price,
                        category_path=category_path,
                        reason=fallback_reason,
                        url=urls.url(pid),
                        tone=tone(state.category_id, pid),
                    )
                )
    return cards


def cards_html(cards: list[Card], currency: str) -> SafeString:
    """A list's cards as HTML (the markup of `templatetags.storefront.card_html`), for `{{ cards_html }}`."""
    return mark_safe("".join(card_html(card, currency) for card in cards))  # every value escaped in card_html
