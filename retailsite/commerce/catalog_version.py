"""A per-store catalog version, so processes that keep a snapshot of the catalog know when to reload it.

Every write of products or categories calls `catalog_changed` — model saves and deletes through the
signals below (connected in CommerceConfig.ready()), bulk paths (the CSV importer, the commerce bulk
upserts) explicitly. The version lives in the shared cache, bumped when the transaction commits (so
nobody reloads the old rows); this process also counts a local generation at once, so it never serves
its own stale snapshot.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from retailsite.safe_cache import cache_add, cache_get, cache_set

from .models import Category, Product

CATALOG_VERSION_KEY = "catalog-version:{tenant_id}"
_local_generation: dict[int, int] = {}


def catalog_version_key(tenant_id: int) -> str:
    return CATALOG_VERSION_KEY.format(tenant_id=tenant_id)


def catalog_version_token(tenant_id: int) -> str | None:
    """The store's catalog version as the shared cache holds it (created on first use; None if the cache is down)."""
    key = catalog_version_key(tenant_id)
    token = cache_get(key)
    if token is None:
        cache_add(key, uuid.uuid4().hex, timeout=None)
        token = cache_get(key)
    return token


def local_generation(tenant_id: int) -> int:
    """Counts this process's own catalog writes of the store (a snapshot older than that is stale)."""
    return _local_generation.get(tenant_id, 0)


def catalog_changed(tenant_id: int) -> None:
    """Products or categories of the store were written: every catalog snapshot of it must be reloaded."""
    _local_generation[tenant_id] = local_generation(tenant_id) + 1

    def bump() -> None:
        cache_set(catalog_version_key(tenant_id), uuid.uuid4().hex, timeout=None)
        _local_generation[tenant_id] = local_generation(tenant_id) + 1

    transaction.on_commit(bump)


def _on_catalog_write(sender: type, instance: Product | Category, **kwargs: object) -> None:
    catalog_changed(instance.tenant_id)


def connect_catalog_signals() -> None:
    """Called once from CommerceConfig.ready(), so the signals are live whatever is imported first."""
    for model in (Product, Category):
        post_save.connect(_on_catalog_write, sender=model, dispatch_uid=f"catalog-version-save-{model.__name__}")
        post_delete.connect(_on_catalog_write, sender=model, dispatch_uid=f"catalog-version-delete-{model.__name__}")
