"""Why an item is recommended: a structured reason, its compact array form, and its rendering in words.

Bulk top-N for every customer produces millions of (customer, item) pairs, so reasons travel as three
parallel integer arrays (`ReasonArrays`: kind code, anchor item, category) and become `Reason` objects only
when a single list is shown. `render_reason` turns a `Reason` into the sentence a shopper reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # serving reads reasons without numpy (a web worker goes without it); the arrays are training's
    import numpy as np


class ReasonKind(StrEnum):
    """What made an item appear. The order of members fixes the integer codes in `ReasonArrays`."""

    PERSONALIZED = "personalized"
    BECAUSE_BOUGHT = "because_bought"
    BECAUSE_VIEWED = "because_viewed"
    SIMILAR_TO = "similar_to"
    BOUGHT_TOGETHER = "bought_together"
    POPULAR = "popular"
    POPULAR_IN_CATEGORY = "popular_in_category"
    TRENDING = "trending"
    FOLLOWED_BOUGHT = "followed_bought"
    POPULAR_WITH_SEGMENT = "popular_with_segment"
    NEW_ARRIVAL = "new_arrival"


REASON_KINDS: tuple[ReasonKind, ...] = tuple(ReasonKind)
REASON_CODE: dict[ReasonKind, int] = {kind: code for code, kind in enumerate(REASON_KINDS)}


@dataclass(frozen=True)
class Reason:
    """One recommendation's reason: its kind, the history item it is anchored on, the category it is about."""

    kind: ReasonKind
    anchor_item: int | None = None
    category: int | None = None


@dataclass
class ReasonArrays:
    """Reasons for many pairs at once: parallel arrays of kind codes, anchor items and categories (-1 = none)."""

    kinds: np.ndarray  # int8 codes into REASON_KINDS
    anchors: np.ndarray  # int32 item index, -1 when the reason has no anchor
    categories: np.ndarray  # int32 category index, -1 when the reason names no category

    @classmethod
    def filled(cls, shape: tuple[int, ...], kind: ReasonKind) -> ReasonArrays:
        import numpy as np

        return cls(
            kinds=np.full(shape, REASON_CODE[kind], dtype=np.int8),
            anchors=np.full(shape, -1, dtype=np.int32),
            categories=np.full(shape, -1, dtype=np.int32),
        )

    def at(self, *index: int) -> Reason:
        anchor = int(self.anchors[index])
        category = int(self.categories[index])
        return Reason(
            kind=REASON_KINDS[int(self.kinds[index])],
            anchor_item=anchor if anchor >= 0 else None,
            category=category if category >= 0 else None,
        )

    def assign(self, where: np.ndarray, other: ReasonArrays) -> None:
        """Overwrite the entries selected by the boolean mask `where` with `other` (shaped like the selection)."""
        self.kinds[where] = other.kinds
        self.anchors[where] = other.anchors
        self.categories[where] = other.categories


NameLookup = Callable[[int], str] | Mapping[int, str]


def _name(lookup: NameLookup, key: int | None, fallback: str) -> str:
    if key is None:
        return fallback
    try:
        name = lookup[key] if isinstance(lookup, Mapping) else lookup(key)
    except (KeyError, IndexError):
        return fallback
    return name or fallback


def render_reason(reason: Reason, item_name_lookup: NameLookup, category_name_lookup: NameLookup) -> str:
    """The sentence a shopper reads, e.g. "Because you bought Espresso Cups" or "Popular in Kitchen".

    Lookups map the engine's item/category indices to display names (a mapping or a function); a missing
    anchor or category falls back to a sentence that does not need it.
    """
    kind = reason.kind
    item = _name(item_name_lookup, reason.anchor_item, "")
    category = _name(category_name_lookup, reason.category, "")
    if kind == ReasonKind.BECAUSE_BOUGHT and item:
        return f"Because you bought {item}"
    if kind == ReasonKind.BECAUSE_VIEWED and item:
        return f"Because you viewed {item}"
    if kind == ReasonKind.SIMILAR_TO and item:
        return f"Similar to {item}"
    if kind == ReasonKind.BOUGHT_TOGETHER and item:
        return f"Frequently bought with {item}"
    if kind == ReasonKind.POPULAR_IN_CATEGORY and category:
        return f"Popular in {category}"
    if kind == ReasonKind.TRENDING:
        return f"Trending in {category}" if category else "Trending now"
    if kind == ReasonKind.FOLLOWED_BOUGHT:
        return "People you follow bought this"
    if kind == ReasonKind.POPULAR_WITH_SEGMENT:
        return "Popular with shoppers like you"
    if kind == ReasonKind.NEW_ARRIVAL:
        return f"New in {category}" if category else "New arrival"
    if kind in (ReasonKind.POPULAR, ReasonKind.POPULAR_IN_CATEGORY):
        return "Popular right now"
    return "Recommended for you"
