"""The per-process memos: a value is computed once per key, a full memo starts over, an expiring one asks again
once its seconds have passed (a clock of our own stands in for time)."""

from __future__ import annotations

import pytest

from retailsite.memo import BoundedMemo, ExpiringMemo


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bounded_memo_computes_each_key_once() -> None:
    calls: list[str] = []
    memo: BoundedMemo[str, str] = BoundedMemo(max_entries=10)

    def render(key: str) -> str:
        calls.append(key)
        return key.upper()

    assert [memo.get_or_compute(key, lambda key=key: render(key)) for key in ("a", "b", "a", "a", "b")] == [
        "A",
        "B",
        "A",
        "A",
        "B",
    ]
    assert calls == ["a", "b"]


def test_a_full_bounded_memo_starts_over_and_never_grows_past_its_size() -> None:
    memo: BoundedMemo[int, int] = BoundedMemo(max_entries=3)
    for key in range(3):
        memo.get_or_compute(key, lambda key=key: key * 2)
    assert len(memo) == 3
    assert memo.get_or_compute(3, lambda: 6) == 6  # the fourth key empties the memo first
    assert len(memo) == 1
    recomputed: list[int] = []
    assert memo.get_or_compute(0, lambda: recomputed.append(0) or 0) == 0  # forgotten, so computed again
    assert recomputed == [0]


def test_an_expiring_memo_reuses_a_value_for_its_seconds_then_loads_again() -> None:
    clock = Clock()
    loads: list[str] = []
    memo: ExpiringMemo[str, str] = ExpiringMemo(max_age=5.0, max_entries=10, clock=clock)

    def load() -> str:
        loads.append("x")
        return f"row {len(loads)}"

    assert memo.get_or_load("alpha", load) == "row 1"
    clock.now += 4.0
    assert memo.get_or_load("alpha", load) == "row 1"
    clock.now += 1.0  # five seconds after the read
    assert memo.get_or_load("alpha", load) == "row 2"
    memo.clear()
    assert memo.get_or_load("alpha", load) == "row 3"
    assert memo.get_or_load("beta", load) == "row 4"
    memo.forget("alpha")  # this process wrote it: the next read loads it again, the other key stays
    assert memo.get_or_load("alpha", load) == "row 5"
    assert memo.get_or_load("beta", load) == "row 4"


def test_a_missing_row_is_asked_for_again_unless_misses_are_remembered() -> None:
    clock = Clock()
    answers = iter([None, "created"])
    memo: ExpiringMemo[str, str] = ExpiringMemo(max_age=5.0, max_entries=10, clock=clock)
    assert memo.get_or_load("new-store", lambda: next(answers)) is None
    assert memo.get_or_load("new-store", lambda: next(answers)) == "created"  # found at once, no wait

    misses = ExpiringMemo[str, int](max_age=30.0, max_entries=10, remember_none=True, clock=clock)
    asked: list[str] = []
    for _ in range(3):
        assert misses.get_or_load("unknown.example", lambda: asked.append("?")) is None
    assert asked == ["?"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: BoundedMemo(max_entries=0),
        lambda: ExpiringMemo(max_age=0, max_entries=10),
        lambda: ExpiringMemo(max_age=5.0, max_entries=0),
    ],
)
def test_a_memo_that_could_hold_nothing_is_refused(make) -> None:
    with pytest.raises(ValueError, match="max_"):
        make()
