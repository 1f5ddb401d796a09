"""What a category page shows, from the catalog snapshot and the precomputed lists, without scanning orders.

The category, its breadcrumbs and sub-categories come from the per-process catalog snapshot. The order of its
products (the category and everything below it, active only) is the store's precomputed popularity, re-ranked for
the shopper on the page they look at: `category_popular_order` is computed once per category and kept in the
shared cache while the catalog version (what is active, where it belongs) and the model version (the popularity
list) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from recommendations.selectors import active_version_id
from recommendations.services import active_version_cache_key
from recommendations.serving import rerank, serving_request
from retailsite.commerce.catalog_snapshot import catalog_snapshot
from retailsite.commerce.live_state import catalog_live_states
from retailsite.safe_cache import cache_get_many, cache_set
from retailsite.tenancy.context import require_tenant_id

CATEGORY_ORDER_SECONDS = 15 * 60
CATEGORY_ORDER_FORMAT = 1


@dataclass(frozen=True)
class CategoryNode:
    pk: int
    name: str
    path: str


@dataclass(frozen=True)
class CategoryPlace:
    category: CategoryNode
    ancestors: list[CategoryNode]  # root first, the category itself excluded
    children: list[CategoryNode]  # by name


def category_place(*, category_id: int) -> CategoryPlace | None:
    """The category with its breadcrumbs and sub-categories; None if the store has no such category."""
    snapshot = catalog_snapshot()
    found = snapshot.categories.get(category_id)
    if found is None:
        return None
    path, name = found
    parts = path.split(" > ")
    ancestors = []
    for depth in range(1, len(parts)):
        ancestor_id = snapshot.category_id_for(" > ".join(parts[:depth]))
        if ancestor_id is not None:
            ancestor_path, ancestor_name = snapshot.categories[ancestor_id]
            ancestors.append(CategoryNode(ancestor_id, ancestor_name, ancestor_path))
    prefix = f"{path} > "
    children = sorted(
        (
            CategoryNode(cid, child_name, child_path)
            for cid, (child_path, child_name) in snapshot.categories.items()
            if child_path.startswith(prefix) and " > " not in child_path[len(prefix) :]
        ),
        key=lambda node: (node.name, node.pk),
    )
    return CategoryPlace(CategoryNode(category_id, name, path), ancestors, children)


def category_popular_order(*, category_id: int) -> list[int]:
    """Active products of the category and its sub-categories, most popular first (then by name)."""
    tenant_id = require_tenant_id()
    key = f"storefront:category-order:{tenant_id}:{category_id}"
    version_key = active_version_cache_key(tenant_id)
    found = cache_get_many([key, version_key])
    version = found.get(version_key)
    if version is None:
        version = active_version_id() or 0
    # Handed to the caller's open serving memo too (see `serving_request`): the page re-ranks with the same version.
    with serving_request(version_id=version or None):
        snapshot = catalog_snapshot()
        stamp = (CATEGORY_ORDER_FORMAT, version or 0, snapshot.token)
        cached = found.get(key)
        if snapshot.token is not None and isinstance(cached, tuple) and len(cached) == 2 and cached[0] == stamp:
            return cached[1]
        subtree = snapshot.subtree(category_id)
        live = catalog_live_states()
        members = [pid for pid, (active, _, cid) in live.items() if active and cid in subtree]
        members.sort(key=lambda pid: (snapshot.product_name(pid), pid))
        ranked = [item.product_id for item in rerank(customer_id=None, product_ids=members).items]
    seen = set(ranked)
    order = ranked + [pid for pid in members if pid not in seen]
    if snapshot.token is not None:
        cache_set(key, (stamp, order), CATEGORY_ORDER_SECONDS)
    return order
