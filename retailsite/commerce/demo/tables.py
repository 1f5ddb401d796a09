"""Column tables that hold a generated store, and their export to the import CSV formats.

A `Table` keeps columns as numpy arrays (large stores stay compact: ids of customers and products in
the orders and events tables are integer codes into the customers and products tables). Iterating a
table yields one plain dict per row, decoded, as the CSV would read.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

# The import formats (issue 2, item 5, and the stock format of the inventory issue), in column order.
CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "customers": (
        "customer_id",
        "email",
        "name",
        "phone",
        "birth_year",
        "gender",
        "city",
        "country",
        "signed_up_at",
        "personalization_consent",
    ),
    "products": ("product_id", "name", "description", "category", "brand", "tags", "price", "cost", "active"),
    "orders": ("order_id", "customer_id", "product_id", "quantity", "ordered_at", "unit_price", "channel"),
    "events": ("customer_id", "session_id", "product_id", "event_type", "occurred_at", "value"),
    "social": ("customer_id", "follows_id"),
    "stock": (
        "product_id",
        "on_hand",
        "on_order",
        "lead_time_days",
        "lead_time_std_days",
        "supplier",
        "min_order_qty",
        "pack_size",
        "order_cost",
        "unit_volume",
        "holding_cost_rate",
        "stockout_cost",
        "service_level",
    ),
}
MONEY_COLUMNS = frozenset({"price", "cost", "unit_price", "order_cost", "stockout_cost"})


@dataclass(frozen=True)
class Coded:
    """A column stored as integer codes into `labels`; code -1 means empty."""

    codes: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def decode(self) -> np.ndarray:
        labels = np.append(self.labels.astype(str), "")
        return labels[np.where(self.codes < 0, len(labels) - 1, self.codes)]


Column = np.ndarray | Coded


@dataclass(frozen=True, repr=False)
class Table:
    columns: dict[str, Column]

    def __post_init__(self) -> None:
        lengths = {len(column) for column in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal length: {lengths}")

    def __repr__(self) -> str:
        return f"Table({len(self):,} rows: {', '.join(self.names)})"

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def column(self, name: str) -> np.ndarray:
        """The column's values (codes decoded to their labels)."""
        column = self.columns[name]
        return column.decode() if isinstance(column, Coded) else column

    def codes(self, name: str) -> np.ndarray:
        """Row indices into the referenced table (customers or products), -1 for none."""
        column = self.columns[name]
        if not isinstance(column, Coded):
            raise TypeError(f"column {name!r} is not coded")
        return column.codes

    def __iter__(self) -> Iterator[dict[str, Any]]:
        values = [_python_values(self.column(name)) for name in self.names]
        for row in zip(*values, strict=True):
            yield dict(zip(self.names, row, strict=True))

    def rows(self) -> list[dict[str, Any]]:
        return list(self)


def _python_values(array: np.ndarray) -> list[Any]:
    if array.dtype.kind == "M":
        return array.astype("datetime64[s]").tolist()  # naive datetimes in UTC
    if array.dtype.kind == "f":
        return [None if value != value else value for value in array.tolist()]
    return array.tolist()


@dataclass(frozen=True)
class DemoTruth:
    """The structure planted in a demo store, for tests and benchmarks (never imported into the database)."""

    start_date: date
    end_date: date
    category_paths: tuple[str, ...]
    cluster_names: tuple[str, ...]
    cluster_categories: tuple[tuple[str, ...], ...]  # core category paths per taste cluster
    customer_cluster: np.ndarray  # per customers row
    customer_region: np.ndarray
    product_category: np.ndarray  # per products row: index into category_paths
    product_popularity: np.ndarray  # base choice weight within its category
    product_elasticity: np.ndarray  # demand ~ min((price / base price) ** -elasticity, 3)
    product_base_price: np.ndarray
    product_launch_day: np.ndarray  # day index (0 = start_date) from which it sells; -1: before the window
    product_end_day: np.ndarray  # day index from which it no longer sells (discontinued, inactive); >= days: never
    product_repurchase_days: np.ndarray  # consumables: typical days between purchases, else 0
    product_lumpy: np.ndarray  # intermittent slow movers bought in bulk
    weekly_price: np.ndarray  # (products, weeks): price in week w = days [7w, 7w + 7) from start_date
    bundles: np.ndarray  # (n, 2) products rows: anchor, complement ("frequently bought together")


@dataclass(frozen=True)
class DemoStore:
    customers: Table
    products: Table
    orders: Table  # one row per order line
    events: Table
    social: Table
    stock: Table
    truth: DemoTruth = field(repr=False)

    def tables(self) -> dict[str, Table]:
        return {
            "customers": self.customers,
            "products": self.products,
            "orders": self.orders,
            "events": self.events,
            "social": self.social,
            "stock": self.stock,
        }

    def summary(self) -> dict[str, int]:
        order_codes = self.orders.codes("order_id")
        return {
            "customers": len(self.customers),
            "products": len(self.products),
            "orders": int(np.unique(order_codes).size),
            "order_lines": len(self.orders),
            "events": len(self.events),
            "follows": len(self.social),
            "stock_rows": len(self.stock),
        }


def write_csvs(store: DemoStore, directory: Path | str) -> dict[str, Path]:
    """Write every table as `<name>.csv` in `directory` (created if missing); returns name -> path.

    The files are exactly the `import_data` formats: header row, UTF-8, ISO 8601 UTC times, `;`-separated tags.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, table in store.tables().items():
        header = CSV_HEADERS[name]
        if table.names != header:
            raise ValueError(f"table {name} has columns {table.names}, expected {header}")
        path = target / f"{name}.csv"
        _write_table(path, table)
        paths[name] = path
    return paths


def _write_table(path: Path, table: Table) -> None:
    try:
        encoders = [_ByteEncoder.for_column(name, table.columns[name]) for name in table.names]
    except _NeedsCsvModule:
        text_columns = [_format_column(name, table.column(name)) for name in table.names]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(table.names)
            writer.writerows(zip(*text_columns, strict=True))
        return
    with path.open("wb") as handle:
        handle.write((",".join(table.names) + "\n").encode())
        for lo in range(0, len(table), _CHUNK_ROWS):
            hi = min(lo + _CHUNK_ROWS, len(table))
            handle.write(_join_rows([encoder.encode(lo, hi) for encoder in encoders]))


# Large tables (orders, events) hold only ASCII ids, numbers and times. Their fields are looked up in small
# tables of byte strings and joined as byte matrices in numpy, many times faster than the csv module. Any
# column with text that could need quoting (or is not ASCII) sends its table through the csv module instead.
_CHUNK_ROWS = 250_000
_QUOTE_BYTES = np.frombuffer(b',"\r\n', dtype=np.uint8)


class _NeedsCsvModule(Exception):
    """A column holds text that may need quoting or is not ASCII."""


@dataclass(frozen=True)
class _ByteEncoder:
    """Rows [lo, hi) of a column as a (rows, width) uint8 matrix, NUL-padded: `pieces[index[lo:hi]]` side by side."""

    parts: tuple[tuple[np.ndarray, np.ndarray], ...]  # (lookup matrix, row index per value)

    def encode(self, lo: int, hi: int) -> np.ndarray:
        return np.concatenate([lookup[index[lo:hi]] for lookup, index in self.parts], axis=1)

    @classmethod
    def for_column(cls, name: str, column: Column) -> _ByteEncoder:
        if isinstance(column, Coded):
            return cls(((_lookup(column.labels), _missing_last(column.codes, len(column.labels))),))
        kind = column.dtype.kind
        if kind == "M":
            seconds = column.astype("datetime64[s]").astype(np.int64)
            day, second = np.divmod(seconds, 86_400)
            first = int(day.min()) if day.size else 0
            days = np.arange(first, (int(day.max()) + 1) if day.size else 1).astype("datetime64[D]")
            return cls(
                (
                    (_lookup(np.datetime_as_string(days)), day - first),
                    (_lookup(np.array(["T"])), _zeros(day)),
                    (_clock_lookup(), second),
                    (_lookup(np.array(["Z"])), _zeros(day)),
                )
            )
        if kind == "b":
            return cls(((_lookup(np.array(["false", "true"])), column.astype(np.int64)),))
        if kind in "iu":
            return cls((_integers(column.astype(np.int64)),))
        if kind == "f":
            missing = np.isnan(column)
            finite = column[~missing]
            filled = np.where(missing, 0, column)
            if name in MONEY_COLUMNS and (finite >= 0).all():
                whole, cents = np.divmod(np.round(filled * 100).astype(np.int64), 100)
                cents_lookup = _lookup(np.array([f".{value:02d}" for value in range(100)]))
                whole_lookup, whole_index = _integers(whole)
                return cls(
                    (
                        (whole_lookup, _missing_last(np.where(missing, -1, whole_index), len(whole_lookup) - 1)),
                        (cents_lookup, _missing_last(np.where(missing, -1, cents), 100)),
                    )
                )
            if (finite == np.round(finite)).all():
                lookup, index = _integers(filled.astype(np.int64))
                return cls(((lookup, _missing_last(np.where(missing, -1, index), len(lookup) - 1)),))
            raise _NeedsCsvModule(name)
        if kind in "US":
            unique, inverse = np.unique(column, return_inverse=True)
            return cls(((_lookup(unique), inverse),))
        raise _NeedsCsvModule(name)


def _zeros(like: np.ndarray) -> np.ndarray:
    return np.zeros(len(like), dtype=np.int64)


def _missing_last(codes: np.ndarray, missing_row: int) -> np.ndarray:
    """Codes with -1 (missing) pointing at the lookup's final, empty row."""
    return np.where(codes < 0, missing_row, codes)


def _lookup(values: np.ndarray) -> np.ndarray:
    """ASCII byte matrix of `values`, one row each, plus a final empty row for missing values."""
    try:
        encoded = np.append(values.astype(str), "").astype("S")
    except UnicodeEncodeError:
        raise _NeedsCsvModule("non-ASCII text") from None
    matrix = np.ascontiguousarray(encoded).view(np.uint8).reshape(len(encoded), encoded.dtype.itemsize)
    if np.isin(matrix, _QUOTE_BYTES).any():
        raise _NeedsCsvModule("text that needs quoting")
    return matrix


def _integers(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lookup and index for integers: a table of 0..max when they are small and non-negative."""
    if values.size and values.min() >= 0 and values.max() < 1_000_000:
        return _lookup(np.arange(int(values.max()) + 1)), values
    unique, inverse = np.unique(values, return_inverse=True)
    return _lookup(unique), inverse


_CLOCK: list[np.ndarray] = []


def _clock_lookup() -> np.ndarray:
    if not _CLOCK:
        second = np.arange(86_400)
        text = np.datetime_as_string(second.astype("datetime64[s]"), unit="s")
        _CLOCK.append(_lookup(np.array([value[11:] for value in text.tolist()])))
    return _CLOCK[0]


def _join_rows(columns: list[np.ndarray]) -> bytes:
    """Rows of comma-separated fields ending in a newline; the NUL padding of the byte matrices is dropped."""
    rows = len(columns[0])
    separator = np.full((rows, 1), ord(","), dtype=np.uint8)
    parts = []
    for column in columns:
        parts.extend([column, separator])
    parts[-1] = np.full((rows, 1), ord("\n"), dtype=np.uint8)
    matrix = np.concatenate(parts, axis=1)
    return matrix[matrix != 0].tobytes()


def _format_column(name: str, values: np.ndarray) -> list[str]:
    kind = values.dtype.kind
    if kind == "M":
        return np.datetime_as_string(values.astype("datetime64[s]"), unit="s", timezone="UTC").tolist()
    if kind == "b":
        return np.where(values, "true", "false").tolist()
    if kind == "f":
        if name in MONEY_COLUMNS:
            text = [f"{value:.2f}" for value in values.tolist()]
        else:
            text = [f"{value:g}" for value in values.tolist()]
        return ["" if missing else value for value, missing in zip(text, np.isnan(values).tolist(), strict=True)]
    if kind == "O":
        return [
            "" if value is None else (";".join(value) if isinstance(value, list | tuple) else str(value))
            for value in values.tolist()
        ]
    return values.astype(str).tolist()
