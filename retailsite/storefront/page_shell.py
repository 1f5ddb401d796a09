"""A storefront page: the page template's own blocks rendered per request, set into the store's layout, which is
rendered once per store and kind of shopper.

Rendering the layout (the page template, `storefront/layout.html` and `base.html`: the store's links, the static
files' URLs, template inheritance) was a fifth of a product, home, category or search page's CPU, for markup that
is the same on every page of a store but for a few values. So the layout is rendered once, by the template engine
from the same templates, with a marker in each place that changes per request (`storefront/shell.html`), and
kept per process as the text between the markers; a page renders only its `page_title` and `content` blocks and
the request's values go into the markers' places, escaped as the template would escape them. The templates stay
the one definition of the markup: `tests/storefront/test_page_shell.py` checks that a page comes out exactly as
Django renders the page template whole.

What the kept layout depends on is its key (the store's id, slug and name, the URL layout, the script prefix and
whether a shopper is signed in), so an entry is never stale; what depends on the request is a marker: the page's
title and content, the flash messages (`base.html`'s `messages` block, rendered per request when there are any),
the category navigation (rendered once per catalog version, `views._nav_html`), the search box's text, the
greeting, the cart's count and the CSRF token of the sign-out form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import Context
from django.template.base import Template
from django.template.context import make_context
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix
from django.utils.html import escape

from retailsite.memo import BoundedMemo

SHELL_TEMPLATE = "storefront/shell.html"
MESSAGES_TEMPLATE = "base.html"  # its `messages` block is the one definition of the flash messages' markup

# The markers: private-use characters, which no link or static URL contains (a store whose name holds one gets its
# pages rendered whole).
SLOTS = ("title", "messages", "content", "nav", "search", "greeting", "cart_count", "cart_plural", "csrf")
_MARK = {slot: f"\ue000{slot}\ue001" for slot in SLOTS}


@dataclass(frozen=True)
class _Shell:
    texts: tuple[str, ...]  # the layout's text around the markers, one more than `slots`
    slots: tuple[str, ...]  # which value goes between texts[i] and texts[i + 1]


_shells: BoundedMemo[tuple, _Shell | None] = BoundedMemo(max_entries=2_000)
_blocks: dict[str, tuple[Template, dict[str, BlockNode]]] = {}


def render_storefront_page(request: HttpRequest, template_name: str, context: dict[str, Any]) -> str:
    """The page `template_name` (a template extending `storefront/layout.html` with blocks `page_title` and
    `content`) as Django would render it whole with `context`, which holds the layout's values too (`tenant`,
    `shopper`, `nav_html`, `search_query`, `greeting`, `cart_count`, `cart_count_plural`)."""
    shell = _shell(request, context)
    if shell is None:
        return str(render_to_string(template_name, context, request=request))
    template, blocks = _named_blocks(template_name)
    page_context = make_context(context, request)
    with page_context.render_context.push_state(template), page_context.bind_template(template):
        page_context.template_name = template.name
        title = blocks["page_title"].render(page_context)
        content = blocks["content"].render(page_context)
    filled = {
        "title": title,
        "messages": _messages_html(request),
        "content": content,
        "nav": str(context["nav_html"]),  # our own template's output (views._nav_html)
        "search": escape(context["search_query"]),
        "greeting": escape(context["greeting"]),
        "cart_count": escape(context["cart_count"]),
        "cart_plural": escape(context["cart_count_plural"]),
    }
    if "csrf" in shell.slots:
        filled["csrf"] = get_token(request)  # as the layout's {% csrf_token %} would: one masked token per render
    parts = [shell.texts[0]]
    for slot, text in zip(shell.slots, shell.texts[1:], strict=True):
        parts.append(filled[slot])
        parts.append(text)
    return "".join(parts)


def _named_blocks(template_name: str) -> tuple[Template, dict[str, BlockNode]]:
    """A template and its blocks by name (found once per loaded template)."""
    template = get_template(template_name).template  # type: ignore[attr-defined]
    kept = _blocks.get(template_name)
    if kept is None or kept[0] is not template:  # a template loaded anew (no cached loader) is looked at anew
        kept = _blocks[template_name] = (
            template,
            {node.name: node for node in template.nodelist.get_nodes_by_type(BlockNode)},
        )
    return kept


def _shell(request: HttpRequest, context: dict[str, Any]) -> _Shell | None:
    tenant = request.tenant  # type: ignore[attr-defined]
    signed_in = bool(context["shopper"].signed_in)
    key = (tenant.pk, tenant.slug, tenant.name, getattr(request, "urlconf", None), get_script_prefix(), signed_in)
    return _shells.get_or_compute(key, lambda: _render_shell(request, context))


def _render_shell(request: HttpRequest, context: dict[str, Any]) -> _Shell | None:
    """The layout rendered with a marker in each per-request place, cut at the markers (None if the store's name,
    the one text of the layout that the store chooses, holds a marker character)."""
    name = request.tenant.name  # type: ignore[attr-defined]
    if "\ue000" in name or "\ue001" in name:
        return None
    marked = {
        **context,
        "page_title_mark": _MARK["title"],
        "messages_mark": _MARK["messages"],
        "content_mark": _MARK["content"],
        "nav_html": _MARK["nav"],
        "search_query": _MARK["search"],
        "greeting": _MARK["greeting"],
        "cart_count": _MARK["cart_count"],
        "cart_count_plural": _MARK["cart_plural"],
        "csrf_token": _MARK["csrf"],
    }
    rest = str(render_to_string(SHELL_TEMPLATE, marked, request=request))
    texts: list[str] = []
    slots: list[str] = []
    while "\ue000" in rest:
        before, _, after = rest.partition("\ue000")
        slot, _, rest = after.partition("\ue001")
        texts.append(before)
        slots.append(slot)
    texts.append(rest)
    return _Shell(tuple(texts), tuple(slots))


def _messages_html(request: HttpRequest) -> str:
    """`base.html`'s `messages` block for this request's flash messages ('' when there are none)."""
    messages = get_messages(request)
    if not messages:
        return ""
    template, blocks = _named_blocks(MESSAGES_TEMPLATE)
    context = Context({"messages": messages})
    with context.render_context.push_state(template), context.bind_template(template):
        return blocks["messages"].render(context)
