"""What decides whether a product may be shown now: sellable, its price and its category, read live.

"Sellable" is `active`, and false as well where an app that knows more says the product cannot be sold now:
inventory registers "tracked stock, none on hand and none on order or in transit" (`register_unavailable_when`).
The conditions are SQL over the product row, so the state is read in the same round trip as the rest of a
request (see `product_state_json`); commerce itself imports nothing of those apps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from retailsite.sql import fetchall, fetchone_prepared, json_value
from retailsite.tenancy.context import require_tenant_id

from .catalog_snapshot import catalog_snapshot


class LiveState(NamedTuple):
    available: bool  # active and, where the store tracks it, in stock
    price: Decimal
    category_id: int | None


GONE = LiveState(False, Decimal(0), None)  # no such product (any more) in this store

# name -> SQL condition over the product row `{p}` that is true when the product cannot be sold now.
_unavailable_when: dict[str, str] = {}


def register_unavailable_when(name: str, condition: str) -> None:
    """Add a condition (SQL over the product row, written with `{p}` for its alias) that makes a product unavailable.

    Called from an app's `ready()`; the condition must be cheap per product (an index look-up).
    """
    _unavailable_when[name] = condition


def available_sql(alias: str) -> str:
    """SQL for "product `alias` is sellable now"."""
    conditions = "".join(f" AND NOT ({condition.format(p=alias)})" for condition in _unavailable_when.values())
    return f"{alias}.active{conditions}"


def product_state_columns(alias: str) -> str:
    """The select list of a product's live state: id, sellable, price, category id."""
    return f"{alias}.id, {available_sql(alias)}, {alias}.price, {alias}.category_id"


def product_state_json(alias: str) -> str:
    """A product's live state as one JSON array (for `json_agg` in a statement that reads more than states)."""
    return f"json_build_array({alias}.id, {available_sql(alias)}, {alias}.price::text, {alias}.category_id)"


def live_states_from_json(rows: Iterable[list] | None) -> dict[int, LiveState]:
    """The states `product_state_json` rows carry, decoded."""
    return {pid: LiveState(available, Decimal(price), category_id) for pid, available, price, category_id in rows or ()}


def live_product_state(product_ids: Iterable[int]) -> dict[int, LiveState]:
    """What the business rules decide on, read from the database now (never from a snapshot)."""
    ids = list(product_ids)
    if not ids:
        return {}
    row = fetchone_prepared(
        f"SELECT json_agg({product_state_json('p')}) FROM commerce_product p WHERE p.tenant_id = %s AND p.id = ANY(%s)",
        [require_tenant_id(), ids],
    )
    return live_states_from_json(json_value(row[0]) if row is not None else None)


# For pages already served from a cache (the storefront home), the live state of the whole catalog is
# read at most once a minute per process and per snapshot, rather than per list: one 20,000-row read
# a minute instead of three or four look-ups on every page built. A write through the models,
# the importer, the API's bulk upsert or a stock write reloads the snapshot and so this too at once.
CATALOG_STATE_SECONDS = 60.0  # bounds only writes that bypass the catalog version (see above)
_catalog_states: dict[int, tuple[float, int, dict[int, LiveState]]] = {}


def catalog_live_states() -> dict[int, LiveState]:
    """The live state of every product of the current store, at most CATALOG_STATE_SECONDS old.

    Give it to `serving_request(live=...)` where seconds-old state is acceptable; never for the API.
    """
    tenant_id = require_tenant_id()
    snapshot = catalog_snapshot()
    now = time.monotonic()
    cached = _catalog_states.get(tenant_id)
    if cached is not None and cached[1] == id(snapshot) and now - cached[0] < CATALOG_STATE_SECONDS:
        return cached[2]
    rows = fetchall(f"SELECT {product_state_columns('p')} FROM commerce_product p WHERE p.tenant_id = %s", [tenant_id])
    states = {pid: LiveState(available, price, category_id) for pid, available, price, category_id in rows}
    _catalog_states[tenant_id] = (now, id(snapshot), states)
    return states
