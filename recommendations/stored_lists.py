"""The stored form of a precomputed list, written by training and read by serving (one definition for both).

A list is a JSON object of parallel arrays, short keys because a store keeps one per customer and two per product:

    {"p": product ids, "s": scores (5 decimals),
     "k": reason kinds, "a": anchor product ids, "c": category ids}      # k, a, c only for lists with reasons

Training packs whole batches of engine output at once (`pack_lists`); serving turns one stored list into
`Candidate`s (`unpack_list`). No Django here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from recommendations.engine.reasons import REASON_KINDS

if TYPE_CHECKING:  # numpy is training's (packing): serving unpacks lists, and a web worker goes without numpy
    import numpy as np


class StoredList(TypedDict, total=False):
    p: list[int]  # product ids, best first
    s: list[float]  # their scores
    k: list[str]  # reason kinds (ReasonKind values)
    a: list[int | None]  # the product each reason is anchored on
    c: list[int | None]  # the category each reason names


class Candidate(NamedTuple):  # a tuple: lists of a hundred are built on every request
    product_id: int
    score: float
    kind: str
    anchor: int | None = None
    category: int | None = None


# Lists converted to Python values at once: big enough to amortize numpy calls, small enough that the
# converted lists of a batch stay a few megabytes.
PACK_BATCH = 2000


def _ids_or_none(ids: np.ndarray, index: np.ndarray) -> np.ndarray:
    """ids[index] as Python ints, None where the index is -1 (an object array, ready for `tolist`)."""
    import numpy as np

    if ids.size == 0:  # e.g. a store whose products have no category: every index is -1
        return np.full(index.shape, None, dtype=object)
    out = ids[np.maximum(index, 0)].astype(object)
    out[index < 0] = None
    return out


def pack_lists(
    product_ids: np.ndarray,
    items: np.ndarray,
    scores: np.ndarray,
    kinds: np.ndarray | None = None,
    anchors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    category_ids: np.ndarray | None = None,
) -> Iterator[StoredList]:
    """One stored list per row of `items` (item indices, -1 = none); `kinds`/`anchors`/`categories` are the
    engine's reason arrays (codes and indices), `product_ids`/`category_ids` map indices to database ids.

    The conversions run on whole batches of rows (no Python work per value), then each row is sliced.
    """
    # Here, not at the top: serving imports this module to unpack lists, and engine.history loads scipy.sparse.
    import numpy as np

    from recommendations.engine.history import iter_batches

    reason_values = np.array([kind.value for kind in REASON_KINDS], dtype=object)

    for part in iter_batches(len(items), PACK_BATCH):
        valid = items[part] >= 0
        order = np.argsort(~valid, axis=1, kind="stable")  # valid entries first, in their order

        def take(values: np.ndarray, order: np.ndarray = order, part: slice = part) -> np.ndarray:
            return np.take_along_axis(values[part], order, axis=1)

        columns: dict[str, list] = {
            "p": product_ids[np.maximum(take(items), 0)].tolist(),
            "s": np.round(take(scores).astype(np.float64), 5).tolist(),
        }
        if kinds is not None:
            columns["k"] = reason_values[take(kinds)].tolist()
        if anchors is not None:
            columns["a"] = _ids_or_none(product_ids, take(anchors)).tolist()
        if categories is not None and category_ids is not None:
            columns["c"] = _ids_or_none(category_ids, take(categories)).tolist()
        for row, count in enumerate(valid.sum(axis=1).tolist()):
            yield StoredList(**{key: values[row][:count] for key, values in columns.items()})  # type: ignore[typeddict-item]


def pack_list(
    product_ids: np.ndarray,
    items: np.ndarray,
    scores: np.ndarray,
    kinds: np.ndarray | None = None,
    anchors: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    category_ids: np.ndarray | None = None,
) -> StoredList:
    """One list in the stored format (see `pack_lists`)."""
    import numpy as np

    def row(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[None, :]

    return next(
        pack_lists(
            product_ids,
            np.asarray(items)[None, :],
            np.asarray(scores)[None, :],
            row(kinds),
            row(anchors),
            row(categories),
            category_ids,
        )
    )


def unpack_list(stored: StoredList | Mapping | None, default_kind: str) -> list[Candidate]:
    """A stored list as candidates, best first; `default_kind` for lists stored without reasons."""
    if not stored:
        return []
    products, scores = stored.get("p") or [], stored.get("s") or []
    kinds, anchors, categories = stored.get("k"), stored.get("a"), stored.get("c")
    return [
        Candidate(
            pid,
            float(scores[i]) if i < len(scores) else 0.0,
            kinds[i] if kinds else default_kind,
            anchors[i] if anchors else None,
            categories[i] if categories else None,
        )
        for i, pid in enumerate(products)
    ]
