"""The engine's input: an event log, side data about products and customers, and the weighted interaction matrix.

Everything is indexed densely: customers are 0..n_users-1 and products 0..n_items-1 (the Django layer keeps the
mapping to database ids). Orders enter as purchase events whose `baskets` value is the order they belong to.

The interaction matrix is customer x product (CSR, float32): each event contributes the weight of its type
(view < cart < purchase; a rating is scaled by value / rating_max) times an exponential time decay
0.5 ** (age_days / half_life_days); repeated events on one pair add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Literal

import numpy as np
import scipy.sparse as sp

from domain.events import EVENT_CART, EVENT_PURCHASE, EVENT_RATING, EVENT_TYPES, EVENT_VIEW, EVENT_WISHLIST
from recommendations.engine.history import UserHistory

SECONDS_PER_DAY = 86_400.0


DEFAULT_EVENT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {EVENT_VIEW: 1.0, EVENT_CART: 3.0, EVENT_WISHLIST: 2.0, EVENT_PURCHASE: 5.0, EVENT_RATING: 5.0}
)


@dataclass(frozen=True)
class EventLog:
    """Interactions of known customers, one row per event (arrays of equal length).

    `values` carries the rating of rating events (NaN elsewhere; other types ignore it); `baskets` the order id
    of purchase events that came from an order (-1 elsewhere), used for "frequently bought together".
    """

    n_users: int
    n_items: int
    users: np.ndarray
    items: np.ndarray
    event_types: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray | None = None
    baskets: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.users)
        object.__setattr__(self, "users", np.asarray(self.users, dtype=np.int32))
        object.__setattr__(self, "items", np.asarray(self.items, dtype=np.int32))
        object.__setattr__(self, "event_types", np.asarray(self.event_types, dtype="U16"))
        object.__setattr__(self, "timestamps", np.asarray(self.timestamps, dtype=np.float64))
        if self.values is not None:
            object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))
        if self.baskets is not None:
            object.__setattr__(self, "baskets", np.asarray(self.baskets, dtype=np.int64))
        for name in ("items", "event_types", "timestamps", "values", "baskets"):
            array = getattr(self, name)
            if array is not None and len(array) != n:
                raise ValueError(f"EventLog.{name} has {len(array)} rows, expected {n}")
        if n and (self.users.min() < 0 or self.users.max() >= self.n_users):
            raise ValueError("EventLog.users must lie in [0, n_users)")
        if n and (self.items.min() < 0 or self.items.max() >= self.n_items):
            raise ValueError("EventLog.items must lie in [0, n_items)")
        unknown = set(np.unique(self.event_types).tolist()) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"unknown event types {sorted(unknown)}; valid: {list(EVENT_TYPES)}")

    def __len__(self) -> int:
        return len(self.users)

    def select(self, mask: np.ndarray) -> EventLog:
        """The events where `mask` is true (a boolean mask or an index array), same index spaces."""
        return replace(
            self,
            users=self.users[mask],
            items=self.items[mask],
            event_types=self.event_types[mask],
            timestamps=self.timestamps[mask],
            values=None if self.values is None else self.values[mask],
            baskets=None if self.baskets is None else self.baskets[mask],
        )

    @property
    def latest_time(self) -> float:
        return float(self.timestamps.max()) if len(self) else 0.0


@dataclass(frozen=True)
class InteractionConfig:
    """How events become interaction strengths.

    `decay_reference` "global" measures an event's age from `reference_time` (default: the latest event), so
    recent behaviour of the whole store counts more; "per_user" measures it from each customer's own latest
    event, so a customer's most recent interests count more whatever their last visit was.
    `half_life_days=None` switches decay off.
    """

    event_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    rating_max: float = 5.0
    half_life_days: float | None = 90.0
    decay_reference: Literal["global", "per_user"] = "global"
    reference_time: float | None = None

    @classmethod
    def binary(cls) -> InteractionConfig:
        """Every event counts 1, no decay: plain implicit feedback (used for like-for-like benchmarks)."""
        return cls(event_weights={t: 1.0 for t in EVENT_TYPES}, rating_max=0.0, half_life_days=None)


def event_type_weights(log: EventLog, config: InteractionConfig) -> np.ndarray:
    """Per-event weight from its type (and its value for ratings), before time decay."""
    weights = np.zeros(len(log), dtype=np.float64)
    for event_type, weight in config.event_weights.items():
        weights[log.event_types == event_type] = weight
    if config.rating_max > 0 and log.values is not None:
        is_rating = log.event_types == EVENT_RATING
        rating = np.nan_to_num(log.values[is_rating], nan=config.rating_max)
        weights[is_rating] *= np.clip(rating, 0.0, None) / config.rating_max
    return weights


def time_decay(
    log: EventLog,
    half_life_days: float | None,
    *,
    reference: Literal["global", "per_user"] = "global",
    reference_time: float | None = None,
) -> np.ndarray:
    """0.5 ** (age_days / half_life_days) per event; ones when `half_life_days` is None."""
    if half_life_days is None or len(log) == 0:
        return np.ones(len(log), dtype=np.float64)
    if reference == "per_user":
        user_latest = np.full(log.n_users, -np.inf)
        np.maximum.at(user_latest, log.users, log.timestamps)
        now = user_latest[log.users]
    else:
        now = log.latest_time if reference_time is None else reference_time
    age_days = np.clip(now - log.timestamps, 0.0, None) / SECONDS_PER_DAY
    return np.exp2(-age_days / half_life_days)


def event_weights(log: EventLog, config: InteractionConfig) -> np.ndarray:
    """Final per-event weight: type weight x time decay."""
    decay = time_decay(
        log, config.half_life_days, reference=config.decay_reference, reference_time=config.reference_time
    )
    return event_type_weights(log, config) * decay


def build_interaction_matrix(log: EventLog, config: InteractionConfig | None = None) -> sp.csr_matrix:
    """Customer x product CSR matrix (float32) of summed, decayed event weights; zero-weight pairs are dropped."""
    config = config or InteractionConfig()
    weights = event_weights(log, config)
    return _pair_matrix(log, weights)


def _pair_matrix(log: EventLog, weights: np.ndarray) -> sp.csr_matrix:
    keep = weights > 0
    matrix = sp.csr_matrix(
        (weights[keep].astype(np.float32), (log.users[keep], log.items[keep])),
        shape=(log.n_users, log.n_items),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


@dataclass(frozen=True)
class ItemText:
    """Product text and attributes for content-based similarity; one entry per item (empty string if none)."""

    names: Sequence[str]
    descriptions: Sequence[str] | None = None
    categories: Sequence[str] | None = None  # category path, e.g. "Home > Kitchen"
    brands: Sequence[str] | None = None
    tags: Sequence[Sequence[str]] | None = None


@dataclass(frozen=True)
class Catalog:
    """Side data about products: category index per item (-1 = none), text for content models, price."""

    n_items: int
    categories: np.ndarray | None = None
    text: ItemText | None = None
    prices: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.categories is not None:
            object.__setattr__(self, "categories", np.asarray(self.categories, dtype=np.int32))
            if len(self.categories) != self.n_items:
                raise ValueError("Catalog.categories must have one entry per item")
        if self.text is not None and len(self.text.names) != self.n_items:
            raise ValueError("Catalog.text.names must have one entry per item")


@dataclass(frozen=True)
class CustomerInfo:
    """Side data about customers.

    `attributes` is an int matrix (n_users x n_attributes), e.g. columns age band, gender, region, each coded
    0..k-1 with -1 for unknown (see `segments.encode_attributes`). `follows` is a CSR matrix
    (n_users x n_users) with a nonzero at (a, b) when customer a follows customer b.
    """

    n_users: int
    attributes: np.ndarray | None = None
    attribute_names: tuple[str, ...] = ()
    follows: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        if self.attributes is not None:
            attributes = np.asarray(self.attributes, dtype=np.int32)
            if attributes.ndim == 1:
                attributes = attributes[:, None]
            if attributes.shape[0] != self.n_users:
                raise ValueError("CustomerInfo.attributes must have one row per user")
            object.__setattr__(self, "attributes", attributes)
        if self.follows is not None:
            follows = sp.csr_matrix(self.follows, dtype=np.float32)
            if follows.shape != (self.n_users, self.n_users):
                raise ValueError("CustomerInfo.follows must be n_users x n_users")
            object.__setattr__(self, "follows", follows)


@dataclass(frozen=True)
class TrainingData:
    """Everything a recommender fits on: events, how to weigh them, and optional side data."""

    events: EventLog
    config: InteractionConfig = field(default_factory=InteractionConfig)
    catalog: Catalog | None = None
    customers: CustomerInfo | None = None

    @property
    def n_users(self) -> int:
        return self.events.n_users

    @property
    def n_items(self) -> int:
        return self.events.n_items

    @cached_property
    def matrix(self) -> sp.csr_matrix:
        """Weighted, decayed customer x product interactions."""
        return build_interaction_matrix(self.events, self.config)

    @cached_property
    def seen(self) -> sp.csr_matrix:
        """1 where the customer interacted with the product in any way (regardless of weights)."""
        return _pair_matrix(self.events, np.ones(len(self.events))).astype(bool).astype(np.float32)

    @cached_property
    def purchased(self) -> sp.csr_matrix:
        """1 where the customer bought the product."""
        weights = (self.events.event_types == EVENT_PURCHASE).astype(np.float64)
        return _pair_matrix(self.events, weights).astype(bool).astype(np.float32)

    @cached_property
    def history(self) -> UserHistory:
        """Strongest past interactions per customer and what they bought, for "because you ..." reasons."""
        return UserHistory(self.matrix, self.purchased, max_items=20)

    @cached_property
    def item_categories(self) -> np.ndarray:
        if self.catalog is not None and self.catalog.categories is not None:
            return self.catalog.categories
        return np.full(self.n_items, -1, dtype=np.int32)

    def with_events(self, events: EventLog) -> TrainingData:
        """Same side data and config over another event log (e.g. the training part of a split)."""
        return TrainingData(events=events, config=self.config, catalog=self.catalog, customers=self.customers)

    def with_config(self, config: InteractionConfig) -> TrainingData:
        return TrainingData(events=self.events, config=config, catalog=self.catalog, customers=self.customers)
