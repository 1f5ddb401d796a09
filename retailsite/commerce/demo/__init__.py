"""The demo store generator: a realistic synthetic store for `manage.py seed_demo` and for benchmarks.

Plain Python and numpy (no Django): `generate_store(...)` returns a `DemoStore` of column tables plus the
planted structure (`DemoStore.truth`); `write_csvs(store, directory)` writes the `import_data` CSV files.
"""

from .generator import (
    DEFAULT_CUSTOMERS,
    DEFAULT_DAYS,
    DEFAULT_PRODUCTS,
    DEFAULT_SEED,
    generate_store,
)
from .tables import CSV_HEADERS, Coded, DemoStore, DemoTruth, Table, write_csvs

__all__ = [
    "CSV_HEADERS",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_DAYS",
    "DEFAULT_PRODUCTS",
    "DEFAULT_SEED",
    "Coded",
    "DemoStore",
    "DemoTruth",
    "Table",
    "generate_store",
    "write_csvs",
]
