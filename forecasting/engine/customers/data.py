"""Input tables of the customer predictions engine: checked and normalized once, at the door.

The Django layer (or a benchmark) hands over plain data frames:

- ``orders``: one row per order line — ``customer_id``, ``ordered_at``, ``amount`` (money, e.g.
  quantity x unit price), ``category``; optional ``order_id`` (lines of one order share it; without it
  every row counts as one order).
- ``events`` (optional): ``customer_id``, ``event_type`` (``view``, ``cart``, ...), ``occurred_at``.
- ``customers`` (optional): ``customer_id``; optional ``gender``, ``birth_year``, ``region`` or ``city``,
  ``signed_up_at``.

Times may be naive (read as UTC) or time-zone aware (converted to UTC); internally every time is a naive
UTC ``datetime64``. Rows that cannot belong to a known customer (guest orders, anonymous-session events)
are left out because the engine predicts per customer; every other missing value is kept as missing and
handled by the feature builder, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

import numpy as np
import pandas as pd

TimeLike: TypeAlias = str | date | datetime | pd.Timestamp | np.datetime64

ORDER_COLUMNS = ("customer_id", "ordered_at", "amount", "category")
EVENT_COLUMNS = ("customer_id", "event_type", "occurred_at")
OTHER_CATEGORY = "other"


def to_utc_timestamp(value: TimeLike) -> pd.Timestamp:
    """A naive UTC timestamp from anything time-like (aware values are converted, naive ones read as UTC)."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _to_utc_series(values: pd.Series, column: str) -> pd.Series:
    try:
        converted = pd.to_datetime(values, utc=True)
    except (ValueError, TypeError) as error:
        raise ValueError(f"column {column!r} holds values that are not dates/times: {error}") from error
    return converted.dt.tz_localize(None).astype("datetime64[ns]")


def _require_columns(frame: pd.DataFrame, required: tuple[str, ...], table: str) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"{table} table lacks column(s) {missing}; it needs {list(required)}")


def _blank_to_missing(values: pd.Series) -> pd.Series:
    """Text columns: empty strings (Django's 'unknown') become real missing values (None)."""
    text = values.where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", None)


@dataclass(frozen=True)
class CustomerTables:
    """One store's orders, events and customers, normalized (see the module docstring for the columns)."""

    orders: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame

    @classmethod
    def from_frames(
        cls,
        orders: pd.DataFrame,
        events: pd.DataFrame | None = None,
        customers: pd.DataFrame | None = None,
    ) -> CustomerTables:
        return cls(
            orders=_normalize_orders(orders),
            events=_normalize_events(events),
            customers=_normalize_customers(customers),
        )

    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last moment with any order or event."""
        times = [self.orders["ordered_at"]]
        if len(self.events):
            times.append(self.events["occurred_at"])
        stacked = pd.concat(times, ignore_index=True)
        if stacked.empty:
            raise ValueError("the store has no orders: nothing to learn from")
        return stacked.min(), stacked.max()

    def before(self, moment: TimeLike) -> CustomerTables:
        """The tables as they were known just before ``moment`` (later orders and events removed)."""
        moment = to_utc_timestamp(moment)
        return CustomerTables(
            orders=self.orders[self.orders["ordered_at"] < moment],
            events=self.events[self.events["occurred_at"] < moment],
            customers=self.customers,
        )


def _normalize_orders(orders: pd.DataFrame) -> pd.DataFrame:
    _require_columns(orders, ORDER_COLUMNS, "orders")
    frame = orders[orders["customer_id"].notna()]
    amount = pd.to_numeric(frame["amount"], errors="coerce")
    if amount.isna().any():
        bad = int(amount.isna().sum())
        raise ValueError(f"orders table: {bad} row(s) have a missing or non-numeric amount")
    category = _blank_to_missing(frame["category"]).fillna(OTHER_CATEGORY).astype(str)
    order_id = frame["order_id"] if "order_id" in frame.columns else pd.Series(np.arange(len(frame)), frame.index)
    normalized = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "order_id": order_id.to_numpy(),
            "ordered_at": _to_utc_series(frame["ordered_at"], "ordered_at").to_numpy(),
            "amount": amount.astype(float).to_numpy(),
            "category": category.to_numpy(),
        }
    )
    return normalized.sort_values(["ordered_at", "order_id"], kind="stable").reset_index(drop=True)


def _normalize_events(events: pd.DataFrame | None) -> pd.DataFrame:
    if events is None:
        return pd.DataFrame(
            {
                "customer_id": pd.Series([], dtype=object),
                "event_type": pd.Series([], dtype=object),
                "occurred_at": pd.Series([], dtype="datetime64[ns]"),
            }
        )
    _require_columns(events, EVENT_COLUMNS, "events")
    frame = events[events["customer_id"].notna()]  # anonymous sessions belong to no customer
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "event_type": frame["event_type"].astype(str).str.strip().str.lower().to_numpy(),
            "occurred_at": _to_utc_series(frame["occurred_at"], "occurred_at").to_numpy(),
        }
    ).reset_index(drop=True)


def _normalize_customers(customers: pd.DataFrame | None) -> pd.DataFrame:
    if customers is None:
        customers = pd.DataFrame({"customer_id": pd.Series([], dtype=object)})
    _require_columns(customers, ("customer_id",), "customers")
    frame = customers[customers["customer_id"].notna()].drop_duplicates("customer_id", keep="last")
    count = len(frame)
    region_source = "region" if "region" in frame.columns else "city"
    gender = _blank_to_missing(frame["gender"]) if "gender" in frame.columns else pd.Series([None] * count)
    region = _blank_to_missing(frame[region_source]) if region_source in frame.columns else pd.Series([None] * count)
    birth_year = (
        pd.to_numeric(frame["birth_year"], errors="coerce")
        if "birth_year" in frame.columns
        else pd.Series(np.full(count, np.nan))
    )
    signed_up_at = (
        _to_utc_series(frame["signed_up_at"], "signed_up_at")
        if "signed_up_at" in frame.columns
        else pd.Series(np.full(count, np.datetime64("NaT"), dtype="datetime64[ns]"))
    )
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy(),
            "gender": np.asarray(gender, dtype=object),
            "birth_year": np.asarray(birth_year, dtype=float),
            "region": np.asarray(region, dtype=object),
            "signed_up_at": np.asarray(signed_up_at, dtype="datetime64[ns]"),
        }
    ).set_index("customer_id")
