"""Reads one tenant's data from the database into the engine's arrays.

Customers without personalization consent are left out entirely: their orders and events
never reach training (the privacy hook). On PostgreSQL the interactions arrive as a few binary
buffers decoded by numpy (no Python object per row: a million rows in about a second); the
tenant predicate is explicit and row-level security enforces it again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.db import connection

from domain.age_bands import age_band_labels
from recommendations.engine.data import (
    EVENT_TYPES,
    Catalog,
    CustomerInfo,
    EventLog,
    InteractionConfig,
    ItemText,
    TrainingData,
)
from retailsite.tenancy.models import Tenant


@dataclass
class TenantTrainingData:
    """The engine's input plus the maps back to database ids and the customers' groups."""

    data: TrainingData
    customer_ids: np.ndarray  # dense index -> Customer.id
    product_ids: np.ndarray  # dense index -> Product.id
    category_ids: np.ndarray  # dense category index -> Category.id
    groups: dict[str, np.ndarray]  # "gender" / "age_band" -> label per dense customer ("" = unknown)
    cutoff: dt.datetime | None


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _epoch(column: str) -> str:
    """Unix seconds of a timestamp column."""
    return f"extract(epoch FROM {column})::float8"


# PostgreSQL's binary send functions and the numpy types they produce (big-endian, fixed width).
_BINARY_TYPES = {"int8": ("int8send", ">i8"), "float8": ("float8send", ">f8"), "int2": ("int2send", ">i2")}


def _fetch_columns(select: list[tuple[str, str]], from_where: str, params: list) -> list[np.ndarray]:
    """Read a million-row result as numpy arrays, one per (expression, type) in `select`

    Each column is aggregated server-side into one bytea of its values' binary form (all aggregates of one
    query see the rows in the same order), so the client decodes a handful of buffers with `np.frombuffer`
    instead of a Python tuple per row. Expressions must never be NULL (coalesce them). A bytea is capped at
    1 GB: about 130 million rows per read.
    """
    columns = ", ".join(f"string_agg({_BINARY_TYPES[kind][0]}({expression}), ''::bytea)" for expression, kind in select)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} {from_where}", params)
        row = cursor.fetchone()
    return [
        np.frombuffer(bytes(value or b""), dtype=_BINARY_TYPES[kind][1]).astype(_BINARY_TYPES[kind][1][1:])
        for value, (_, kind) in zip(row, select, strict=True)
    ]


def _tags(value: object) -> list[str]:
    if isinstance(value, str):  # a raw query hands jsonb over as text
        value = json.loads(value or "[]")
    return [str(tag) for tag in value] if isinstance(value, list) else []


def load_training_data(tenant: Tenant) -> TenantTrainingData:
    tid = tenant.id
    customers = _fetch(
        "SELECT id, gender, birth_year, city FROM commerce_customer "
        "WHERE tenant_id = %s AND personalization_consent ORDER BY id",
        [tid],
    )
    products = _fetch(
        "SELECT p.id, coalesce(p.category_id, 0), p.name, p.description, coalesce(c.path, ''), p.brand, "
        "p.tags, p.price FROM commerce_product p LEFT JOIN commerce_category c ON c.id = p.category_id "
        "WHERE p.tenant_id = %s ORDER BY p.id",
        [tid],
    )
    customer_ids = np.array([row[0] for row in customers], dtype=np.int64)
    product_ids = np.array([row[0] for row in products], dtype=np.int64)
    customer_index = {cid: i for i, cid in enumerate(customer_ids.tolist())}

    category_db_ids = sorted({row[1] for row in products if row[1]})
    category_index = {cid: i for i, cid in enumerate(category_db_ids)}
    item_categories = np.array([category_index.get(row[1], -1) for row in products], dtype=np.int32)
    text = ItemText(
        names=[row[2] or "" for row in products],
        descriptions=[row[3] or "" for row in products],
        categories=[row[4] for row in products],
        brands=[row[5] or "" for row in products],
        tags=[_tags(row[6]) for row in products],
    )
    catalog = Catalog(
        n_items=len(products),
        categories=item_categories,
        text=text,
        prices=np.array([float(row[7] or 0) for row in products]),
    )

    log = _read_interactions(tid, customer_ids, product_ids)

    follows = _fetch("SELECT f.follower_id, f.followee_id FROM commerce_follow f WHERE f.tenant_id = %s", [tid])
    pairs = [(customer_index[a], customer_index[b]) for a, b in follows if a in customer_index and b in customer_index]
    follow_matrix = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), ([p[0] for p in pairs], [p[1] for p in pairs])),
        shape=(len(customer_ids), len(customer_ids)),
    )
    year = dt.date.today().year
    genders = np.array([row[1] or "" for row in customers], dtype=object)
    ages = np.array([year - row[2] if row[2] else np.nan for row in customers], dtype=float)
    bands = age_band_labels(ages, unknown="")  # no birth year: in no segment and no per-group figure
    regions = np.array([row[3] or "" for row in customers], dtype=object)
    attributes = np.column_stack([_codes(bands), _codes(genders), _codes(regions)]) if len(customers) else None
    customer_info = CustomerInfo(
        n_users=len(customer_ids),
        attributes=attributes,
        attribute_names=("age_band", "gender", "region"),
        follows=follow_matrix,
    )
    config = InteractionConfig(
        event_weights={**tenant.setting("event_weights")},
        half_life_days=float(tenant.setting("interaction_half_life_days")),
    )
    cutoff = dt.datetime.fromtimestamp(log.latest_time, tz=dt.UTC) if len(log) else None
    return TenantTrainingData(
        data=TrainingData(events=log, config=config, catalog=catalog, customers=customer_info),
        customer_ids=customer_ids,
        product_ids=product_ids,
        category_ids=np.array(category_db_ids, dtype=np.int64),
        groups={"gender": genders, "age_band": bands},
        cutoff=cutoff,
    )


# Orders (as purchase events, basket = order id) and behavioural events of consenting customers.
_LINES_FROM = (
    "FROM commerce_orderline l JOIN commerce_order o ON o.id = l.order_id "
    "JOIN commerce_customer c ON c.id = o.customer_id "
    "WHERE l.tenant_id = %s AND c.personalization_consent"
)
_EVENTS_FROM = (
    "FROM commerce_event e JOIN commerce_customer c ON c.id = e.customer_id "
    "WHERE e.tenant_id = %s AND c.personalization_consent AND e.event_type <> 'purchase'"
)


def _read_interactions(tid: int, customer_ids: np.ndarray, product_ids: np.ndarray) -> EventLog:
    """Order lines and events decoded by numpy; database ids become dense indices by binary search (both id
    lists are sorted)."""
    line_customer, line_product, line_time, line_order = _fetch_columns(
        [("o.customer_id", "int8"), ("l.product_id", "int8"), (_epoch("o.ordered_at"), "float8"), ("o.id", "int8")],
        _LINES_FROM,
        [tid],
    )
    # Event types travel as their position in EVENT_TYPES (0 = a type the engine does not know).
    event_customer, event_product, event_time, event_type, event_value = _fetch_columns(
        [
            ("e.customer_id", "int8"),
            ("e.product_id", "int8"),
            (_epoch("e.occurred_at"), "float8"),
            ("coalesce(array_position(%s::text[], e.event_type::text), 0)::int2", "int2"),
            ("coalesce(e.value, 'NaN'::float8)", "float8"),
        ],
        _EVENTS_FROM,
        [list(EVENT_TYPES), tid],
    )
    if (event_type == 0).any():
        unknown = _fetch(
            "SELECT DISTINCT event_type FROM commerce_event WHERE tenant_id = %s AND NOT event_type = ANY(%s)",
            [tid, list(EVENT_TYPES)],
        )
        raise ValueError(f"unknown event types {sorted(row[0] for row in unknown)}; valid: {list(EVENT_TYPES)}")
    type_labels = np.array(["", *EVENT_TYPES], dtype="U16")
    n_lines = len(line_customer)
    return EventLog(
        n_users=len(customer_ids),
        n_items=len(product_ids),
        users=_dense_index(customer_ids, np.concatenate([line_customer, event_customer]), "customer"),
        items=_dense_index(product_ids, np.concatenate([line_product, event_product]), "product"),
        event_types=np.concatenate([np.full(n_lines, "purchase", dtype="U16"), type_labels[event_type]]),
        timestamps=np.concatenate([line_time, event_time]),
        values=np.concatenate([np.full(n_lines, np.nan), event_value]),
        baskets=np.concatenate([line_order, np.full(len(event_customer), -1, dtype=np.int64)]),
    )


def _dense_index(sorted_ids: np.ndarray, ids: np.ndarray, what: str) -> np.ndarray:
    """Positions of `ids` in `sorted_ids`; every id must be there (as the generic path's dict look-up)."""
    positions = np.searchsorted(sorted_ids, ids)
    found = positions < len(sorted_ids)
    found[found] = sorted_ids[positions[found]] == ids[found]
    if not found.all():
        raise KeyError(f"{what} {int(ids[~found][0])} is not among the store's {what}s read for training")
    return positions.astype(np.int32)


def _codes(labels: np.ndarray) -> np.ndarray:
    """Labels -> 0..k-1 codes, -1 for unknown (empty)."""
    codes = np.full(len(labels), -1, dtype=np.int32)
    known = labels != ""
    if known.any():
        _, inverse = np.unique(labels[known].astype(str), return_inverse=True)
        codes[known] = inverse
    return codes
