"""Template helpers of the storefront: store-relative URLs and prices in the store's currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from html import escape as _html_escape
from typing import Any

from django import template

from retailsite.memo import BoundedMemo

from ..links import store_url as build_store_url

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


@register.simple_tag(takes_context=True)
def store_url(context: template.Context, name: str, **kwargs: Any) -> str:
    """`{% store_url "storefront:product" product_id=p.pk %}` — right under /s/<slug>/ and on mapped domains.

    A `query` keyword is not a URL argument: `page=2` style extras go in `q_<name>=value`.
    """
    query = {key[2:]: kwargs.pop(key) for key in list(kwargs) if key.startswith("q_")}
    return build_store_url(context["request"], name, query=query, **kwargs)


@register.filter
def money(amount: Any, currency: str = "") -> str:
    """12.5, "EUR" -> "€12.50"; unknown currencies are written after the amount."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{value:,.2f}"
    if symbol:
        return f"{symbol}{text}"
    return f"{text} {currency}".strip()


# Product cards and recommendation sections are drawn in Python rather than with an {% include %} or a tag
# per card: a page has dozens of cards, and this is the one place their markup lives.


def escape(value: Any) -> str:
    """What django.utils.html.escape does (html.escape of str(value), quotes too), without its lazy-string
    wrapper and SafeString: a home page escapes a couple of hundred values, and the result is marked safe
    once, as a whole."""
    return _html_escape(str(value))


# A product's part of its card (tile, name, category, price) is the same on every page until one of those
# values changes: kept per process, keyed by the values themselves, so it can never be stale. Reasons
# repeat across cards ("Because you viewed X") and are kept the same way.
_card_bodies: BoundedMemo[tuple, str] = BoundedMemo(max_entries=50_000)
_reason_parts: BoundedMemo[str, str] = BoundedMemo(max_entries=50_000)


def _card_body(card: Any, currency: str) -> str:
    def render() -> str:
        category = f'<span class="card-category">{escape(card.category_path)}</span>' if card.category_path else ""
        return (
            f'">\n    <span class="thumb tone-{int(card.tone)}" aria-hidden="true">{escape(card.initials)}</span>\n'
            f'    <span class="card-name">{escape(card.name)}</span>\n  </a>\n'
            f'  {category}\n  <span class="card-price">{escape(money(card.price, currency))}</span>\n'
        )

    key = (card.name, card.price, card.category_path, card.tone, currency)  # the initials follow from the name
    return _card_bodies.get_or_compute(key, render)


def _reason_html(reason: str) -> str:
    if not reason:
        return ""
    return _reason_parts.get_or_compute(
        reason, lambda: f'<p class="why"><span class="why-label">Why this?</span> {escape(reason)}</p>'
    )


def card_html(card: Any, currency: str) -> str:
    return (
        f'<li class="card">\n  <a class="card-link" href="{escape(card.url)}'
        f"{_card_body(card, currency)}  {_reason_html(card.reason)}\n</li>"
    )


def section_html(section: Any, currency: str) -> str:
    slug = escape(section.slug)
    note = f'<p class="note">{escape(section.note)}</p>' if section.note else ""
    cards = "".join(card_html(card, currency) for card in section.cards)
    return (
        f'<section class="shelf" id="{slug}" aria-labelledby="{slug}-title" data-section="{slug}" '
        f'data-recommendation-id="{escape(section.recommendation_id)}">\n'
        f'  <h2 id="{slug}-title">{escape(section.title)}</h2>\n  {note}\n'
        f'  <ul class="cards">\n    {cards}\n  </ul>\n</section>'
    )
