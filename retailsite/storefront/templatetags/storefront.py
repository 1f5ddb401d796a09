"""Template helpers of the storefront: store-relative URLs and prices in the store's currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

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
