"""Deterministic assignment of subjects (customers, visitors) to experiment arms.

A subject's arm is a pure function of the experiment's salt, the subject's key and the arms' shares:
the same subject gets the same arm on every request and every machine, nothing is stored per request,
and two experiments with different salts split the population independently of each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_SCALE = float(2**64)


def unit_interval(salt: str, subject_keys: Sequence[str]) -> np.ndarray:
    """A uniform draw in [0, 1) per subject: the first 8 bytes of BLAKE2b(salt, key) as an integer / 2**64."""
    import numpy as np  # here, not at the top: serving's assign_one runs without it

    prefix = salt.encode() + b"\x1f"
    out = np.empty(len(subject_keys), dtype=np.float64)
    for index, key in enumerate(subject_keys):
        digest = hashlib.blake2b(prefix + key.encode(), digest_size=8).digest()
        out[index] = int.from_bytes(digest, "big") / _SCALE
    return out


def assign(salt: str, subject_keys: Sequence[str], shares: Sequence[float]) -> np.ndarray:
    """The index of each subject's arm, arm i taking `shares[i] / sum(shares)` of the population."""
    import numpy as np

    weights = np.asarray(shares, dtype=np.float64)
    if weights.ndim != 1 or len(weights) == 0 or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError("shares must be a non-empty list of non-negative numbers with a positive sum")
    edges = np.cumsum(weights) / weights.sum()
    edges[-1] = 1.0  # no subject falls past the last arm through rounding
    return np.searchsorted(edges, unit_interval(salt, subject_keys), side="right").astype(np.int64)


def assign_one(salt: str, subject_key: str, shares: Sequence[float]) -> int:
    """`assign` for a single subject without numpy: what serving calls once per request."""
    digest = hashlib.blake2b(salt.encode() + b"\x1f" + subject_key.encode(), digest_size=8).digest()
    draw = int.from_bytes(digest, "big") / _SCALE
    total = float(sum(shares))
    running = 0.0
    for index, share in enumerate(shares[:-1]):
        running += float(share)  # the same sums and division as `assign`, so both agree on every key
        if draw < running / total:
            return index
    return len(shares) - 1
