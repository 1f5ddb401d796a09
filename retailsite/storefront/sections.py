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
    recommend_for_customer,
    rerank,
    serving_request,
    shopper_page_inputs,
    shopper_recent_inputs,
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


@dataclass(frozen=True)
class LastingSections:
    """The home page's sections a view does not change (for you, because you bought, trending, popular with people
    you follow), rendered, with what a new "because you viewed" needs of them."""

    above_viewed: str  # the HTML of the sections shown above "because you viewed"
    below_viewed: str  # and below it
    shown: frozenset[int]  # the products they show: "because you viewed" leaves these out
    purchased: frozenset[int]  # the shopper's purchases, which the lists leave out
    # "For you" came from the recent activity (no personal list): then a view changes it too.
    from_recent_activity: bool


@dataclass(frozen=True)
class HomePage:
    lasting: LastingSections
    viewed_html: str  # "because you viewed" ('' when there is none)

    @property
    def html(self) -> str:
        return "\n".join(
            part for part in (self.lasting.above_viewed, self.viewed_html, self.lasting.below_viewed) if part
        )


class _HomeSections:
    """What the sections of one home page share: the products shown so far (a later section avoids them), the URLs."""

    def __init__(self, request: HttpRequest, shopper: Shopper) -> None:
        self.request = request
        self.shopper = shopper
        self.shown: set[int] = set()
        self.catalog = catalog_snapshot()
        self.urls = ProductUrls(request)
        self.customer_id = shopper.customer_id if shopper.personalized else None

    def filters(self) -> Filters:
        return Filters(
            k=HOME_SECTION_SIZE, avoid_product_ids=frozenset(self.shown), min_when_avoiding=MIN_DISTINCT_ITEMS
        )

    def keep(
        self,
        served: ServedList,
        *,
        slug: str,
        title: str,
        note: str = "",
        only_kinds: tuple[str, ...] = (),
        unless_repeated: bool = False,
    ) -> Section | None:
        section = section_from(
            self.request, served, slug=slug, title=title, note=note, only_kinds=only_kinds, urls=self.urls
        )
        if not section.cards:
            return None
        if unless_repeated and all(card.product_id in self.shown for card in section.cards):
            return None  # a small catalog: the same products again under another title adds nothing
        self.shown.update(card.product_id for card in section.cards)
        return section

    def viewed(self, recent: list[int]) -> Section | None:
        if not recent:
            return None
        return self.keep(
            because_viewed(customer_id=self.customer_id, session_id=self.shopper.visitor_id, filters=self.filters()),
            slug="because-viewed",
            title=f"Because you viewed {self.catalog.product_name(recent[0])}",
            only_kinds=("because_viewed",),
        )


def _html(sections: list[Section | None], currency: str) -> str:
    return "\n".join(section_html(section, currency) for section in sections if section is not None)


def home_page(request: HttpRequest, shopper: Shopper) -> HomePage:
    """The home page: for you, because you viewed / bought, trending, and what followed people buy.

    No product shows twice on the page (unless so little would be left that repeating some beats a near-empty
    shelf). A shopper with a personal list gets the lasting sections first and "because you viewed" leaves out
    what they show, so a view recomputes that one section alone (`home_viewed_again`); otherwise "for you" itself
    comes from the recent activity, and the specific "because you viewed / bought X" go first, the broader
    sections leaving out what those show. What several sections need — the shopper's recent products,
    purchases, and the live state of products — is read once for the page.
    """
    off_note = "" if shopper.personalized else PERSONALIZATION_OFF_NOTE
    page = _HomeSections(request, shopper)
    customer_id = page.customer_id
    viewed = bought = followed = None
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
        recent: list[int] = []
        if shopper.personalized:
            recent = (
                inputs.recent
                if inputs is not None
                else shopper_recent_inputs(customer_id=customer_id, session_id=shopper.visitor_id)
            )
        # Without consent there is no "because you viewed": a view changes nothing shown.
        viewed_last = not shopper.personalized or (inputs is not None and bool(inputs.precomputed))
        if not viewed_last:
            viewed = page.viewed(recent)
        if purchased:
            bought_id = purchased[0]
            served = bought_together(product_id=bought_id, filters=page.filters())
            if not served.items:
                served = similar_items(product_id=bought_id, filters=page.filters())
            bought = page.keep(
                served,
                slug="because-bought",
                title=f"Because you bought {page.catalog.product_name(bought_id)}",
                unless_repeated=True,
            )
        for_you_list = recommend_for_customer(
            customer_id=shopper.serving_customer_id,
            session_id=shopper.serving_session_id,
            filters=page.filters(),
            personalized=shopper.personalized,
        )
        for_you = page.keep(
            for_you_list,
            slug="for-you",
            title="Recommended for you" if shopper.personalized else "Popular right now",
            note=off_note,
        )
        if customer_id is not None:
            followed = page.keep(
                popular_with_followed(customer_id=customer_id, filters=page.filters()),
                slug="followed",
                title="Popular with people you follow",
                unless_repeated=True,
            )
        trending_now = page.keep(trending(filters=page.filters()), slug="trending", title="Trending now", note=off_note)
        lasting_shown = frozenset(page.shown)
        if viewed_last:
            viewed = page.viewed(recent)
    currency = shopper.tenant.currency
    return HomePage(
        LastingSections(
            above_viewed=_html([for_you], currency),
            below_viewed=_html([bought, trending_now, followed], currency),
            shown=lasting_shown,
            purchased=frozenset(purchased),
            from_recent_activity=not viewed_last or for_you_list.from_recent_activity,
        ),
        _html([viewed], currency),
    )


def home_viewed_again(request: HttpRequest, shopper: Shopper, lasting: LastingSections) -> HomePage:
    """The home page after a view, with the lasting sections kept: "because you viewed" anew, leaving out what they
    show. One small read (the shopper's recent products and their `similar` lists) where a whole page reads all
    their inputs."""
    page = _HomeSections(request, shopper)
    page.shown.update(lasting.shown)
    with serving_request(live=catalog_live_states()) as memo:
        if page.customer_id is not None:
            memo.purchased[page.customer_id] = set(lasting.purchased)
        recent = (
            shopper_recent_inputs(customer_id=page.customer_id, session_id=shopper.visitor_id)
            if shopper.personalized
            else []
        )
        viewed = page.viewed(recent)
    return HomePage(lasting, _html([viewed], shopper.tenant.currency))


# The home page's sections, rendered, are kept per shopper: computing them is most of the page's cost.
# An entry is only used while everything it was built from is unchanged: the model version (which also
# fixes the trending and popular lists), the catalog version (names, prices, what is active), the
# shopper's consent and visitor id, and their activity stamp (their latest event, order and follow, and
# the latest order of anyone they follow; read with one small query on every visit) — so a product view
# or an add-to-cart changes "because you viewed" on the very next page load. When only their latest event
# changed, the lasting sections are kept and "because you viewed" alone is computed again (unless "for you"
# came from the recent activity too). The time limit only bounds what Redis holds for shoppers who do not
# come back, and how long a purchase stays counted in "popular with people you follow" after it leaves that
# section's one-year window.
HOME_SECTIONS_SECONDS = 30 * 60
HOME_SECTIONS_FORMAT = 2  # bump when the markup of the sections or the kept entry changes


@dataclass(frozen=True)
class _KeptHome:
    lasting_stamp: tuple
    events: str  # the event part of the activity stamp the page was built at
    page: HomePage


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
    activity = (
        shopper.activity
        if shopper.activity is not None
        else selectors.shopper_activity_stamp(customer_id=shopper.customer_id, visitor_id=shopper.visitor_id)
    )
    events, lasting_activity = selectors.split_activity_stamp(activity)
    lasting_stamp = (
        HOME_SECTIONS_FORMAT,
        version or 0,
        catalog_snapshot().token,
        shopper.personalized,
        shopper.visitor_id,
        shopper.customer_id,
        tenant.currency,
        customer_version,
        lasting_activity,
    )
    kept = found.get(key)
    lasting = None
    if isinstance(kept, _KeptHome) and kept.lasting_stamp == lasting_stamp:
        if kept.events == events:
            return mark_safe(kept.page.html)  # our own template's output, stored below
        if not kept.page.lasting.from_recent_activity:
            lasting = kept.page.lasting
    with serving_request(version_id=version or None):  # read above: the sections need not ask for it again
        page = home_page(request, shopper) if lasting is None else home_viewed_again(request, shopper, lasting)
    cache_set(key, _KeptHome(lasting_stamp, events, page), HOME_SECTIONS_SECONDS)
    return mark_safe(page.html)


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
