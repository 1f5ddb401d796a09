"""Bulk import of a store's history from CSV files (customers, products, orders, events, social).

Public API:

    from retailsite.commerce.importers import import_store_data, ImportFailed, ImportReport
    report = import_store_data(tenant=tenant, files={"customers": path, "orders": path}, progress=None)

All files are validated before anything is written; any problem raises ImportFailed whose
`errors` are (file, line, column, message) tuples, and the store is left untouched. New
kinds (e.g. stock) subclass KindImporter and call `register_kind`; see registry.py.
"""

from . import kinds  # noqa: F401 - registers the core kinds
from .csvsource import ColumnSpec
from .errors import ImportFailed, ImportIssue
from .registry import (
    INVALID,
    ImportReport,
    ImportRun,
    KindCounts,
    KindImporter,
    ProgressCallback,
    kind_names,
    register_entity_ids,
    register_kind,
    registered_kinds,
)
from .service import import_store_data

__all__ = [
    "INVALID",
    "ColumnSpec",
    "ImportFailed",
    "ImportIssue",
    "ImportReport",
    "ImportRun",
    "KindCounts",
    "KindImporter",
    "ProgressCallback",
    "import_store_data",
    "kind_names",
    "register_entity_ids",
    "register_kind",
    "registered_kinds",
]
