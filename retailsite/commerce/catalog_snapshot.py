"""A per-process snapshot of what pages and lists show about products and categories, but never decide on.

Names, external ids and the category tree come from this snapshot, checked against the store's catalog version
(`catalog_version.py`) at most every few seconds and reloaded when a product or category write bumped it.
What decides whether a product is shown (sellable, price, category) is read live: `live_state.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from retailsite.tenancy.context import require_tenant_id

from .catalog_version import catalog_version_token, local_generation
from .models import Category, Product

CATALOG_CHECK_SECONDS = 2.0  # how stale another process's product or category write may look here
CATALOG_MAX_AGE_SECONDS = 300.0  # reloaded at least this often, even if the version key was lost


@dataclass
class CatalogSnapshot:
    """What serving shows about products and categories, but never decides on (names, ids, paths)."""

    token: str | None  # the store's catalog version when loaded
    generation: int  # this process's own catalog writes when loaded
    loaded_at: float
    checked_at: float
    products: dict[int, tuple[str, str]]  # product id -> (external id, name)
    categories: dict[int, tuple[str, str]]  # category id -> (path, name)
    _by_external_id: dict[str, int] | None = None
    _by_path: dict[str, int] | None = None
    _subtrees: dict[int, frozenset[int]] = field(default_factory=dict)

    def product_id_for(self, external_id: str) -> int | None:
        if self._by_external_id is None:
            self._by_external_id = {ext: pid for pid, (ext, _) in self.products.items()}
        return self._by_external_id.get(external_id)

    def category_id_for(self, path: str) -> int | None:
        if self._by_path is None:
            self._by_path = {p: cid for cid, (p, _) in self.categories.items()}
        return self._by_path.get(path)

    def subtree(self, category_id: int) -> frozenset[int]:
        """The category and everything below it."""
        if category_id not in self._subtrees:
            path = self.categories.get(category_id, (None, ""))[0]
            ids: frozenset[int] = frozenset()
            if path is not None:
                below = f"{path} > "
                ids = frozenset(cid for cid, (p, _) in self.categories.items() if p == path or p.startswith(below))
            self._subtrees[category_id] = ids
        return self._subtrees[category_id]

    def product_name(self, product_id: int) -> str:
        if product_id not in self.products:
            self.add_products([product_id])
        return self.products.get(product_id, ("", ""))[1]

    def top_categories(self, limit: int) -> list[tuple[int, str]]:
        """The roots of the category tree as (id, name), by name."""
        roots = sorted((name, cid) for cid, (path, name) in self.categories.items() if " > " not in path)
        return [(cid, name) for name, cid in roots[:limit]]

    def add_products(self, product_ids: Iterable[int]) -> None:
        """Products created since the snapshot was loaded (or written by a process that did not bump)."""
        wanted = [pid for pid in product_ids if pid not in self.products]
        if not wanted:
            return
        rows = Product.objects.filter(id__in=wanted).values_list("id", "external_id", "name", "category_id")
        category_ids = set()
        for pid, external_id, name, category_id in rows:
            self.products[pid] = (external_id, name)
            category_ids.add(category_id)
        self.add_categories(category_ids)
        self._by_external_id = None

    def add_categories(self, category_ids: Iterable[int | None]) -> None:
        wanted = [cid for cid in category_ids if cid is not None and cid not in self.categories]
        if wanted:
            for cid, path, name in Category.objects.filter(id__in=wanted).values_list("id", "path", "name"):
                self.categories[cid] = (path, name)
            self._by_path = None
            self._subtrees.clear()


_catalogs: dict[int, CatalogSnapshot] = {}


def catalog_snapshot() -> CatalogSnapshot:
    """The current store's catalog snapshot, reloaded when its version moved (checked every few seconds)."""
    tenant_id = require_tenant_id()
    now = time.monotonic()
    generation = local_generation(tenant_id)
    snapshot = _catalogs.get(tenant_id)
    token = None
    if (
        snapshot is not None
        and snapshot.generation == generation
        and now - snapshot.loaded_at < CATALOG_MAX_AGE_SECONDS
    ):
        if now - snapshot.checked_at < CATALOG_CHECK_SECONDS:
            return snapshot
        token = catalog_version_token(tenant_id)
        if token == snapshot.token:
            snapshot.checked_at = now
            return snapshot
    else:
        token = catalog_version_token(tenant_id)
    products = {
        pid: (external_id, name)
        for pid, external_id, name in Product.objects.values_list("id", "external_id", "name").iterator(chunk_size=5000)
    }
    categories = {cid: (path, name) for cid, path, name in Category.objects.values_list("id", "path", "name")}
    snapshot = CatalogSnapshot(
        token=token, generation=generation, loaded_at=now, checked_at=now, products=products, categories=categories
    )
    _catalogs[tenant_id] = snapshot
    return snapshot


def category_id_for_path(path: str) -> int | None:
    """A category of the current store by its path (e.g. "Home > Kitchen")."""
    category_id = catalog_snapshot().category_id_for(path)
    if category_id is None:
        category_id = Category.objects.filter(path=path).values_list("id", flat=True).first()
    return category_id


def product_ids_for_external_ids(external_ids: Iterable[str]) -> frozenset[int]:
    """The ids of the current store's products with these external ids (unknown ones are left out)."""
    snapshot = catalog_snapshot()
    found, missing = set(), []
    for external_id in external_ids:
        pid = snapshot.product_id_for(external_id)
        if pid is None:
            missing.append(external_id)
        else:
            found.add(pid)
    if missing:
        found.update(Product.objects.filter(external_id__in=missing).values_list("id", flat=True))
    return frozenset(found)
