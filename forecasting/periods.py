"""Calendar periods of a store's forecasts: days, weeks starting on Monday, calendar months.

Dates are local to the store (its time zone); a period is named by its first day. Plain Python, no Django.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where used: the staff pages import this module, and a web worker goes without
    import numpy as np
    import numpy.typing as npt

FREQUENCIES = ("D", "W", "M")
# PostgreSQL date_trunc field per frequency (its weeks start on Monday, as ISO weeks do).
DATE_TRUNC_FIELD = {"D": "day", "W": "week", "M": "month"}


def _check(freq: str) -> None:
    if freq not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}, got {freq!r}")


def period_start(day: dt.date, freq: str) -> dt.date:
    """First day of the period that contains ``day``."""
    _check(freq)
    if freq == "D":
        return day
    if freq == "W":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def shift_period(start: dt.date, freq: str, steps: int) -> dt.date:
    """The period ``steps`` periods after (or before, if negative) the one starting at ``start``."""
    _check(freq)
    if freq == "D":
        return start + dt.timedelta(days=steps)
    if freq == "W":
        return start + dt.timedelta(weeks=steps)
    months = start.year * 12 + (start.month - 1) + steps
    return dt.date(months // 12, months % 12 + 1, 1)


def period_end(start: dt.date, freq: str) -> dt.date:
    """Last day of the period starting at ``start``."""
    return shift_period(start, freq, 1) - dt.timedelta(days=1)


def period_sequence(first: dt.date, freq: str, count: int) -> list[dt.date]:
    """``count`` consecutive period starts beginning with ``first``."""
    return [shift_period(first, freq, step) for step in range(count)]


def periods_between(first: dt.date, last: dt.date, freq: str) -> int:
    """Number of periods from the one starting at ``first`` to the one starting at ``last``, both included."""
    _check(freq)
    if freq == "D":
        return (last - first).days + 1
    if freq == "W":
        return (last - first).days // 7 + 1
    return (last.year - first.year) * 12 + (last.month - first.month) + 1


def period_indices(starts: npt.NDArray[np.datetime64], first: dt.date, freq: str) -> npt.NDArray[np.int64]:
    """Index of each period start (datetime64 days, already aligned) counted from the period ``first``."""
    import numpy as np

    _check(freq)
    days = starts.astype("datetime64[D]")
    if freq == "D":
        return (days - np.datetime64(first, "D")).astype(np.int64)
    if freq == "W":
        return (days - np.datetime64(first, "D")).astype(np.int64) // 7
    return (days.astype("datetime64[M]") - np.datetime64(first, "M")).astype(np.int64)


# How recent the last order must be (in periods before today's) for the store to count as live.
LIVE_WITHIN_PERIODS = {"D": 7, "W": 1, "M": 1}


def last_complete_period(data_end: dt.date, today: dt.date, freq: str) -> dt.date:
    """Start of the latest period of history: the latest period that is over and that the data covers.

    A live store (last order in today's period or shortly before) has every period before today's complete,
    quiet days included. When the data stopped earlier (a historical import), the period holding the last order
    counts only if that order fell on its last day: a week whose data stops on a Wednesday would look like a slump.
    """
    current = period_start(today, freq)
    start = period_start(data_end, freq)
    if start >= shift_period(current, freq, -LIVE_WITHIN_PERIODS[freq]):
        return shift_period(current, freq, -1)
    return start if data_end == period_end(start, freq) else shift_period(start, freq, -1)
