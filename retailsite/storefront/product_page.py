"""The shopper-independent parts of a product page, rendered once and kept per product.

A product page is the product (name, brand, price, description, tags, breadcrumbs) and its two item-based
shelves (similar items, frequently bought together): nothing in them depends on who is looking, except the note
shown without personalization consent. They are rendered on the first visit and kept in the shared cache per
product (and consent), used only while the store's catalog version (names, prices, what is active, the category
tree), the active model version (the neighbour lists) and the currency are unchanged; PRODUCT_PARTS_SECONDS only
bounds what the cache holds for products nobody visits. A kept page costs one cache round trip and no database
query; the session, the cart count, the form's CSRF token and the recorded view stay per request.

The shelves' recommendation id is made when the parts are rendered, so the visitors of one product share it while
the entry lives; it carries the model version, which is what attribution reads from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from recommendations.selectors import active_version_id
from recommendations.services import active_version_cache_key
from recommendations.serving import active_product_with_neighbours, serving_request
from retailsite.commerce.catalog_snapshot import catalog_snapshot
from retailsite.safe_cache import cache_get_many, cache_set

from .category_page import category_place
from .sections import initials, product_sections, tone
from .shopper import Shopper
from .templatetags.storefront import section_html

PRODUCT_PARTS_SECONDS = 15 * 60
PRODUCT_PARTS_FORMAT = 1  # bump when the markup of the parts changes


@dataclass(frozen=True)
class ProductPageParts:
    product_id: int
    external_id: str
    name: str
    tone: int
    initials: str
    breadcrumbs_html: SafeString
    info_html: SafeString
    sections_html: SafeString


def _parts_key(tenant_id: int, product_id: int, personalized: bool) -> str:
    return f"storefront:product:{tenant_id}:{product_id}:{int(personalized)}"


def product_page_parts(request: HttpRequest, shopper: Shopper, product_id: int) -> ProductPageParts | None:
    """The product's page parts (kept or rendered now); None if the store has no such active product."""
    tenant = shopper.tenant
    key = _parts_key(tenant.pk, product_id, shopper.personalized)
    version_key = active_version_cache_key(tenant.pk)
    found = cache_get_many([key, version_key])  # one round trip for both
    version = found.get(version_key)
    if version is None:
        version = active_version_id() or 0
    token = catalog_snapshot().token
    stamp = (PRODUCT_PARTS_FORMAT, version or 0, token, tenant.currency, getattr(request, "urlconf", None))
    cached = found.get(key)
    if token is not None and isinstance(cached, tuple) and len(cached) == 2 and cached[0] == stamp:
        return cached[1]
    with serving_request(version_id=version or None):  # read above: the shelves need not ask the cache for it again
        # The product and its shelves' neighbour lists in one round trip.
        product = active_product_with_neighbours(product_id=product_id)
        if product is None:
            return None
        sections = product_sections(request, shopper, product.pk)
    place = category_place(category_id=product.category_id) if product.category_id is not None else None
    ancestors = [*place.ancestors, place.category] if place is not None else []
    context = {"product": product, "ancestors": ancestors, "tenant": tenant}
    parts = ProductPageParts(
        product_id=product.pk,
        external_id=product.external_id,
        name=product.name,
        tone=tone(product.category_id, product.pk),
        initials=initials(product.name),
        # our own templates' output
        breadcrumbs_html=mark_safe(render_to_string("storefront/_product_breadcrumbs.html", context, request)),
        info_html=mark_safe(render_to_string("storefront/_product_info.html", context, request)),
        sections_html=mark_safe("\n".join(section_html(section, tenant.currency) for section in sections)),
    )
    if token is not None:  # without the catalog version (cache down) nothing could invalidate the entry
        cache_set(key, (stamp, parts), PRODUCT_PARTS_SECONDS)
    return parts
