"""stock.csv for `manage.py import_data --stock F`: `product_id,on_hand` and optional stock, cost and supplier terms.

Optional columns: `on_order, lead_time_days, lead_time_std_days, supplier, min_order_qty, pack_size, order_cost,
unit_volume, holding_cost_rate, stockout_cost, service_level`. Registered as the import kind "stock" (after
"products", whose ids it checks) by InventoryConfig.ready(), so `import_data` offers `--stock` and the same rules as
every kind hold: file/line/column errors, nothing written when any line is bad, re-importing changes nothing.

- `product_id` must be a product of this import or of the store, at most once per file;
- a column left out of the file leaves the stored value alone (new rows get the default);
- an empty cell in `supplier` or in a supplier-term column (lead times, MOQ, pack size, order cost) or in
  `service_level` means "not set": the product uses its supplier's term (or the store default);
  an empty cell in the other columns is refused (leave the column out instead);
- a supplier named for the first time is created with default terms; the row's own terms are stored on the
  product's stock as overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from retailsite.commerce.importers import INVALID, ColumnSpec, KindCounts, KindImporter
from retailsite.commerce.importers.fields import (
    MAX_QUANTITY,
    FieldError,
    column_max_length,
    parse_float,
    parse_identifier,
    parse_money,
    parse_text,
    parse_whole_number,
    show,
)
from retailsite.commerce.importers.ids import id_map
from retailsite.commerce.models import Product

from .models import Supplier

MAX_STOCK_UNITS = 1_000_000_000
MAX_LEAD_TIME_DAYS = 730.0
MAX_UNIT_VOLUME = 1_000_000.0
MAX_HOLDING_COST_RATE = 10.0
MIN_SERVICE_LEVEL = 0.5
MAX_SERVICE_LEVEL = 0.9999

OPTIONAL_COLUMNS = (
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
)
# Columns where an empty cell means "not set" (the supplier's term or the store's default applies).
EMPTY_MEANS_UNSET = frozenset(
    {"lead_time_days", "lead_time_std_days", "supplier", "min_order_qty", "pack_size", "order_cost", "service_level"}
)


def parse_stock_units(value: str, *, what: str) -> int:
    return parse_whole_number(value, minimum=0, maximum=MAX_STOCK_UNITS, what=what)


def parse_bounded_float(value: str, *, what: str, low: float, high: float, low_inclusive: bool = True) -> float:
    number = parse_float(value, what=what)
    too_low = number < low if low_inclusive else number <= low
    if too_low or number > high:
        lower = f"at least {low:g}" if low_inclusive else f"more than {low:g}"
        raise FieldError(f"{what} must be {lower} and at most {high:g}; got {show(value.strip())}")
    return number


def stock_cell_parsers() -> dict[str, Callable[[str], Any]]:
    """One parser per column (shared with the API's stock serializers so both refuse the same values)."""
    supplier_length = Supplier._meta.get_field("name").max_length
    return {
        "on_hand": lambda text: parse_stock_units(text, what="on_hand"),
        "on_order": lambda text: parse_stock_units(text, what="on_order"),
        "lead_time_days": lambda text: parse_bounded_float(text, what="lead_time_days", low=0, high=MAX_LEAD_TIME_DAYS),
        "lead_time_std_days": lambda text: parse_bounded_float(
            text, what="lead_time_std_days", low=0, high=MAX_LEAD_TIME_DAYS
        ),
        "supplier": lambda text: parse_text(text, max_length=supplier_length, what="supplier"),
        "min_order_qty": lambda text: parse_whole_number(text, minimum=0, maximum=MAX_QUANTITY, what="min_order_qty"),
        "pack_size": lambda text: parse_whole_number(text, minimum=1, maximum=MAX_QUANTITY, what="pack_size"),
        "order_cost": lambda text: parse_money(text, what="order_cost"),
        "unit_volume": lambda text: parse_bounded_float(text, what="unit_volume", low=0, high=MAX_UNIT_VOLUME),
        "holding_cost_rate": lambda text: parse_bounded_float(
            text, what="holding_cost_rate", low=0, high=MAX_HOLDING_COST_RATE, low_inclusive=False
        ),
        "stockout_cost": lambda text: parse_money(text, what="stockout_cost"),
        "service_level": lambda text: parse_bounded_float(
            text, what="service_level", low=MIN_SERVICE_LEVEL, high=MAX_SERVICE_LEVEL
        ),
    }


class StockImporter(KindImporter):
    name = "stock"
    position = 60
    depends_on = ("products",)
    columns = ColumnSpec(required=("product_id", "on_hand"), optional=OPTIONAL_COLUMNS)
    stage_columns = (
        ("line_no", "bigint"),
        ("product_ext", "text"),
        ("on_hand", "bigint"),
        ("on_order", "bigint"),
        ("lead_time_days", "double precision"),
        ("lead_time_std_days", "double precision"),
        ("supplier", "text"),
        ("min_order_qty", "bigint"),
        ("pack_size", "bigint"),
        ("order_cost", "numeric"),
        ("unit_volume", "double precision"),
        ("holding_cost_rate", "double precision"),
        ("stockout_cost", "numeric"),
        ("service_level", "double precision"),
    )

    def prepare(self) -> None:
        self.products = self.run.known_ids("product")
        self.first_line: dict[str, int] = {}
        self.id_length = column_max_length(Product, "external_id")
        self.parsers = stock_cell_parsers()
        self.present = [column for column in OPTIONAL_COLUMNS if self.source.has(column)]

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        before = self.run.errors.total
        product = self.parsed(
            line,
            "product_id",
            lambda text: parse_identifier(text, max_length=self.id_length, what="product_id"),
            cells[self.source.index["product_id"]],
        )
        if product is not INVALID:
            if product not in self.products:
                self.fail(
                    line,
                    "product_id",
                    f"unknown product {show(product)}: not in this import's products file nor in the store",
                )
            else:
                earlier = self.first_line.setdefault(product, line)
                if earlier != line:
                    self.fail(line, "product_id", f"product {show(product)} already appears on line {earlier}")
        values: dict[str, Any] = {
            "on_hand": self.parsed(line, "on_hand", self.parsers["on_hand"], cells[self.source.index["on_hand"]])
        }
        for column in self.present:
            text = cells[self.source.index[column]]
            if not text.strip():
                if column in EMPTY_MEANS_UNSET:
                    values[column] = None
                else:
                    self.fail(line, column, f"{column} is empty; give a value or leave the column out of the file")
                continue
            values[column] = self.parsed(line, column, self.parsers[column], text)
        if self.run.errors.total != before:
            return None
        return [line, product, *(values.get(name) for name, _ in self.stage_columns[2:])]

    def write_postgresql(self, db: Any) -> KindCounts:
        # A store has at most one stock row per product (thousands, not millions): the ORM path is fast enough and
        # keeps one write path for the importer and the API (inventory.services.stock_items_write).
        from .services import stock_items_write

        staged = list(self.spool.decoded_rows())
        products = id_map(Product, {row["product_ext"] for row in staged})
        fields = ["on_hand", *self.present]
        rows = []
        for row in staged:
            values = {name: row[name] for name in fields}
            values["product_id"] = products[row["product_ext"]]
            rows.append(values)
        result = stock_items_write(rows, fields=fields)
        details = {"suppliers_created": result.suppliers_created} if result.suppliers_created else {}
        return KindCounts(
            rows_read=self.rows_read,
            created=len(result.created),
            updated=len(result.updated),
            unchanged=result.unchanged,
            details=details,
        )


def register_stock_import_kind() -> None:
    """Register the "stock" kind with the importer (called once from InventoryConfig.ready)."""
    from retailsite.commerce.importers import register_kind

    register_kind(StockImporter)
