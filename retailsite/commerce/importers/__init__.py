"""Bulk import of a store's history from CSV files: customers, products, orders, events, social.

Public API:

    from retailsite.commerce.importers import import_store_data, ImportFailed, ImportReport
    report = import_store_data(tenant=tenant, files={"customers": path, "orders": path}, progress=None)
    report["orders"].created, report["orders"].updated, report["orders"].unchanged

Every file is read and checked first; any problem raises ImportFailed, whose `errors` are
(file, line, column, message) tuples (at most settings.IMPORT_MAX_REPORTED_ERRORS), and the
store is left untouched. Then every kind is upserted by external id, in dependency order,
in one transaction, as the tenant (row-level security checks every row written).

Rules shared by every file:
- UTF-8 (a byte-order mark is accepted), comma-separated, a header row; header names are
  matched case-insensitively; unknown, duplicate or missing required columns are refused.
- A column absent from the header leaves that field of existing rows as it is (new rows
  get the default). An empty cell means: blank text, or NULL for birth_year, signed_up_at,
  cost and value; price, active and the consent columns need a value when present.
- Dates are ISO 8601 dates or date-times; a time without an offset is in the tenant's
  time zone, a date alone is midnight there. Years before 1970 or after next year are refused.
- Re-importing the same files changes nothing (0 created, 0 updated).

Per kind: customer_id must be unique within its file (so must product_id); all lines of an
order agree on customer, time and channel; the same product twice in one order is one line
with the quantities summed (the unit price is the quantity-weighted average); re-importing an
order replaces its lines with the file's; events are identified by a hash of their content.

New kinds (e.g. stock) subclass KindImporter and call `register_kind`; see registry.py.
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
