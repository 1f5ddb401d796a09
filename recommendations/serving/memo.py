"""A request's serving memo: what the lists of one page or one API call share, each read at most once.

A page shows several lists (for you, because you viewed, trending, ...); an API batch serves a hundred customers.
They share the model version (pinned once, so a version activated halfway through a page does not mix in), the
tenant's serving settings, the catalog snapshot, the live state of products, and per shopper their recent
products, purchases, precomputed list and what the people they follow bought. `serving_request()` opens a memo
for the block; each serving function uses the open one, or opens its own for a single call. The one-round-trip
statements of `page_inputs` fill it up front, so the lists then read nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from recommendations.selectors import active_version_id
from recommendations.stored_lists import Candidate
from retailsite.commerce.catalog_snapshot import CatalogSnapshot, catalog_snapshot
from retailsite.commerce.live_state import GONE, LiveState, live_product_state
from retailsite.tenancy.context import require_tenant_id
from retailsite.tenancy.models import Tenant
from retailsite.tenancy.selectors import tenant_get_active

_UNREAD = object()
SERVING_SETTINGS = ("exclude_purchased", "max_per_category")


@dataclass(eq=False)
class RequestMemo:
    tenant_id: int
    # Seconds-old states of the whole catalog (`catalog_live_states`), where the caller accepts that; read-only.
    shared_live: Mapping[int, LiveState] = field(default_factory=dict)
    live: dict[int, LiveState] = field(default_factory=dict)  # read in this request
    recent: dict[tuple[int | None, str], list[int]] = field(default_factory=dict)  # (customer, session) -> ids
    purchased: dict[int, set[int]] = field(default_factory=dict)  # customer -> product ids
    precomputed: dict[int, list[Candidate]] = field(default_factory=dict)  # customer -> their list
    followed: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # customer -> (product, buyers)
    popular_without_model: list[Candidate] | None = None  # the store has no trained list: counted once per request
    _version_id: object = _UNREAD
    _settings: dict[str, object] | None = None
    _catalog: CatalogSnapshot | None = None

    @property
    def version_id(self) -> int | None:
        """The model version every list of this request comes from (the active one when first asked)."""
        if self._version_id is _UNREAD:
            self._version_id = active_version_id()
        return self._version_id  # type: ignore[return-value]

    def setting(self, key: str) -> object:
        """A serving default of the store (`exclude_purchased`, `max_per_category`)."""
        if self._settings is None:
            tenant = tenant_get_active(self.tenant_id) or Tenant(pk=self.tenant_id)
            self._settings = {name: tenant.setting(name) for name in SERVING_SETTINGS}
        return self._settings[key]

    @property
    def catalog(self) -> CatalogSnapshot:
        if self._catalog is None:
            self._catalog = catalog_snapshot()
        return self._catalog

    def states(self, product_ids: Iterable[int]) -> dict[int, LiveState]:
        """The live state of these products (GONE for ids the store does not have), reading only what is missing."""
        found: dict[int, LiveState] = {}
        missing = []
        for pid in product_ids:
            state = self.live.get(pid) or self.shared_live.get(pid)
            if state is None:
                missing.append(pid)
            else:
                found[pid] = state
        if missing:
            read = live_product_state(missing)  # a product newer than `shared_live`, or none of it given
            for pid in missing:
                found[pid] = self.live[pid] = read.get(pid, GONE)
        return found


_current: ContextVar[RequestMemo | None] = ContextVar("serving_request_memo", default=None)
_UNSET = object()


@contextmanager
def serving_request(
    *, version_id: int | object | None = _UNSET, live: Mapping[int, LiveState] | None = None, fresh: bool = False
) -> Iterator[RequestMemo]:
    """The memo of the lists built inside the block (an open one of the same store is reused unless `fresh`, and
    given what it lacks of `version_id` and `live`).

    `version_id`: the active version, when the caller already read it, or the version an experiment's arm serves
    (with `fresh`); `live`: seconds-old states of the whole catalog where that is acceptable (a cached page), never
    for the API.
    """
    tenant_id = require_tenant_id()
    open_memo = _current.get()
    if not fresh and open_memo is not None and open_memo.tenant_id == tenant_id:
        # What a nested block brings (a page's seconds-old states, the version read by the caller) serves the
        # rest of the request too, if the memo lacks it.
        if live and not open_memo.shared_live:
            open_memo.shared_live = live
        if version_id is not _UNSET and open_memo._version_id is _UNREAD:
            open_memo._version_id = version_id
        yield open_memo
        return
    memo = RequestMemo(tenant_id=tenant_id, shared_live=live or {})
    if version_id is not _UNSET:
        memo._version_id = version_id
    token = _current.set(memo)
    try:
        yield memo
    finally:
        _current.reset(token)
