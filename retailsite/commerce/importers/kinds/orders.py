"""orders.csv, one row per order line: `order_id,customer_id,product_id,quantity,ordered_at`, optional
`unit_price` (default: the product's price) and `channel`.

Every line of an order must agree on its customer, time and channel. A product listed
twice in one order becomes one line: the quantities are summed and the unit price is the
quantity-weighted average of the lines' prices. On re-import an order's lines are replaced
by the file's: lines of that order no longer in the file are deleted. A line without a
unit price keeps the price it was first imported with (the product's price at that time).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from retailsite.commerce.models import Customer, Order, OrderLine, Product

from ..csvsource import ColumnSpec
from ..errors import ImportFailed, ImportIssue
from ..fields import (
    FieldError,
    column_max_length,
    latest_plausible_year,
    parse_datetime,
    parse_identifier,
    parse_money,
    parse_quantity,
    parse_text,
    show,
)
from ..pg import Assign, PgSession, table
from ..registry import INVALID, KindCounts, KindImporter, register_kind
from ..spool import Spool

MAX_LINE_QUANTITY = 2_147_483_647  # the column's integer type
CENT = Decimal("0.01")


@register_kind
class OrdersImporter(KindImporter):
    name = "orders"
    position = 30
    depends_on = ("customers", "products")
    columns = ColumnSpec(
        required=("order_id", "customer_id", "product_id", "quantity", "ordered_at"), optional=("unit_price", "channel")
    )
    stage_columns = (
        ("line_no", "bigint"),
        ("order_ext", "text"),
        ("product_ext", "text"),
        ("quantity", "integer"),
        ("unit_price", "numeric"),
    )
    header_columns = (
        ("line_no", "bigint"),
        ("order_ext", "text"),
        ("customer_ext", "text"),
        ("ordered_at", "timestamptz"),
        ("channel", "text"),
    )

    def prepare(self) -> None:
        index = self.source.index
        self.positions = (
            index["order_id"],
            index["customer_id"],
            index["product_id"],
            index["quantity"],
            index["ordered_at"],
            index.get("unit_price"),
            index.get("channel"),
        )
        self.order_length = column_max_length(Order, "external_id")
        self.customer_length = column_max_length(Customer, "external_id")
        self.product_length = column_max_length(Product, "external_id")
        self.channel_length = column_max_length(Order, "channel")
        self.latest_year = latest_plausible_year()
        self.customers = self.run.known_ids("customer")
        self.products = self.run.known_ids("product")
        # order id -> (customer, time, channel, first line): all its lines must agree.
        self.orders: dict[str, tuple[str, datetime, str, int]] = {}
        self._last_time: tuple[str, datetime] | None = None

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        at_order, at_customer, at_product, at_quantity, at_time, at_price, at_channel = self.positions
        # Fast path: a good row parses without any per-cell bookkeeping; on the first problem
        # the row is parsed again cell by cell so that every bad cell is reported.
        try:
            order = parse_identifier(cells[at_order], max_length=self.order_length, what="order_id")
            customer = parse_identifier(cells[at_customer], max_length=self.customer_length, what="customer_id")
            product = parse_identifier(cells[at_product], max_length=self.product_length, what="product_id")
            quantity = parse_quantity(cells[at_quantity])
            ordered_at = self._time(cells[at_time])
            unit_price = None
            if at_price is not None and cells[at_price].strip():
                unit_price = parse_money(cells[at_price], what="unit_price")
            channel = "" if at_channel is None else parse_text(cells[at_channel], max_length=self.channel_length)
        except FieldError:
            self._report_bad_cells(line, cells)
            return None
        if customer not in self.customers or product not in self.products:
            self._report_unknown(line, customer, product)
            return None
        header = self.orders.get(order)
        if header is None:
            self.orders[order] = (customer, ordered_at, channel, line)
        elif header[0] != customer or header[1] != ordered_at or header[2] != channel:
            self._report_disagreement(line, order, header, customer, ordered_at, channel)
            return None
        return [line, order, product, quantity, unit_price]

    def _time(self, text: str) -> datetime:
        # Lines of one order usually follow each other with the same time: parse it once.
        last = self._last_time
        if last is not None and last[0] == text:
            return last[1]
        parsed = parse_datetime(text, default_zone=self.run.zone, latest_year=self.latest_year)
        self._last_time = (text, parsed)
        return parsed

    def _report_bad_cells(self, line: int, cells: list[str]) -> None:
        at_order, at_customer, at_product, at_quantity, at_time, at_price, at_channel = self.positions
        self.parsed(
            line,
            "order_id",
            lambda t: parse_identifier(t, max_length=self.order_length, what="order_id"),
            cells[at_order],
        )
        customer = self.parsed(
            line,
            "customer_id",
            lambda t: parse_identifier(t, max_length=self.customer_length, what="customer_id"),
            cells[at_customer],
        )
        product = self.parsed(
            line,
            "product_id",
            lambda t: parse_identifier(t, max_length=self.product_length, what="product_id"),
            cells[at_product],
        )
        self.parsed(line, "quantity", parse_quantity, cells[at_quantity])
        self.parsed(line, "ordered_at", self._time, cells[at_time])
        if at_price is not None and cells[at_price].strip():
            self.parsed(line, "unit_price", lambda t: parse_money(t, what="unit_price"), cells[at_price])
        if at_channel is not None:
            self.parsed(line, "channel", lambda t: parse_text(t, max_length=self.channel_length), cells[at_channel])
        self._report_unknown(line, customer, product)

    def _report_unknown(self, line: int, customer: Any, product: Any) -> None:
        if customer is not INVALID and customer not in self.customers:
            self.fail(
                line,
                "customer_id",
                f"unknown customer {show(customer)}: not in this import's customers file nor in the store",
            )
        if product is not INVALID and product not in self.products:
            self.fail(
                line,
                "product_id",
                f"unknown product {show(product)}: not in this import's products file nor in the store",
            )

    def _report_disagreement(
        self,
        line: int,
        order: str,
        header: tuple[str, datetime, str, int],
        customer: str,
        ordered_at: datetime,
        channel: str,
    ) -> None:
        first_customer, first_time, first_channel, first_line = header
        if first_customer != customer:
            self.fail(
                line,
                "customer_id",
                f"order {show(order)} has customer {show(customer)} here but "
                f"{show(first_customer)} on line {first_line}",
            )
        if first_time != ordered_at:
            self.fail(
                line,
                "ordered_at",
                f"order {show(order)} is dated {ordered_at.isoformat()} here but "
                f"{first_time.isoformat()} on line {first_line} "
                "(all lines of an order share one time)",
            )
        if first_channel != channel:
            self.fail(
                line,
                "channel",
                f"order {show(order)} has channel {show(channel)} here but {show(first_channel)} on line {first_line}",
            )

    def finish_validation(self) -> None:
        self.header_spool = Spool(self.header_columns)
        for order, (customer, ordered_at, channel, line) in self.orders.items():
            self.header_spool.write([line, order, customer, ordered_at, channel])
        self.orders.clear()  # the spool has them now

    def close(self) -> None:
        super().close()
        if hasattr(self, "header_spool"):
            self.header_spool.close()

    # -- PostgreSQL ----------------------------------------------------------------------------

    def write_postgresql(self, db: PgSession) -> KindCounts:
        db.stage("import_order_headers", self.header_spool)
        db.stage("import_order_lines", self.spool, phase="writing orders")
        channel_given = self.source.has("channel")
        db.key_table("import_customer_keys", Customer, "SELECT customer_ext FROM import_order_headers")
        orders_created, orders_updated = db.upsert(
            target=Order,
            assignments=[
                db.tenant(),
                Assign("external_id", "h.order_ext", update=False),
                Assign("customer_id", "c.id"),
                Assign("ordered_at", "h.ordered_at"),
                Assign("channel", "COALESCE(h.channel, '')", update=channel_given),
            ],
            source="import_order_headers h JOIN import_customer_keys c ON c.external_id = h.customer_ext",
            conflict=("tenant_id", "external_id"),
            order_by="h.line_no",
            keys_into="import_order_keys",
        )
        # Orders created or updated are known from the upsert; look up only the unchanged ones.
        db.key_table("import_order_keys", Order, "SELECT order_ext FROM import_order_headers", complete=True)
        db.key_table("import_product_keys", Product, "SELECT product_ext FROM import_order_lines", extra=("price",))
        # One row per (order, product): duplicates merged, external ids resolved to keys.
        db.execute(
            """
            CREATE TEMPORARY TABLE import_order_lines_resolved ON COMMIT DROP AS
            SELECT o.id AS order_id, p.id AS product_id, sum(l.quantity) AS quantity,
                   round(sum(l.quantity * COALESCE(l.unit_price, p.price)) / sum(l.quantity), 2) AS unit_price,
                   bool_and(l.unit_price IS NOT NULL) AS price_given, min(l.line_no) AS first_line,
                   count(*) AS source_lines
            FROM import_order_lines l
            JOIN import_order_keys o ON o.external_id = l.order_ext
            JOIN import_product_keys p ON p.external_id = l.product_ext
            GROUP BY o.id, p.id
            """
        )
        lines, resolved_lines, too_large = db.fetchone(
            "SELECT count(*), COALESCE(sum(source_lines), 0), count(*) FILTER (WHERE quantity > %s) "
            "FROM import_order_lines_resolved",
            [MAX_LINE_QUANTITY],
        )
        if resolved_lines != self.spool.rows:
            # Validation saw every customer and product; one must have been deleted since.
            raise ImportFailed(
                [
                    ImportIssue(
                        self.source.name,
                        0,
                        "",
                        "a customer or product these orders refer to "
                        "was deleted while the import ran; run the import again",
                    )
                ]
            )
        if too_large:
            rows = db.fetchall(
                "SELECT first_line FROM import_order_lines_resolved WHERE quantity > %s ORDER BY first_line LIMIT 100",
                [MAX_LINE_QUANTITY],
            )
            raise ImportFailed(
                [
                    ImportIssue(
                        self.source.name,
                        row[0],
                        "quantity",
                        f"this product's lines in the order add up to more than {MAX_LINE_QUANTITY:,}",
                    )
                    for row in rows
                ]
            )
        db.execute("ANALYZE import_order_lines_resolved")
        # Lines of the imported orders that the file no longer lists (before inserting, so a
        # first import finds none). Stored lines are read through the (tenant, order, product)
        # index per order, compared with EXCEPT, and deleted by primary key: no join whose plan
        # depends on statistics of tables written moments ago.
        db.execute(
            f"""
            DELETE FROM {table(OrderLine)} t
            WHERE t.tenant_id = %s AND t.id = ANY(ARRAY(
                SELECT k.id
                FROM (SELECT r.order_id, stored.product_id
                      FROM (SELECT DISTINCT order_id FROM import_order_lines_resolved) r
                      CROSS JOIN LATERAL (SELECT x.product_id FROM {table(OrderLine)} x
                                          WHERE x.tenant_id = %s AND x.order_id = r.order_id OFFSET 0) stored
                      EXCEPT
                      SELECT order_id, product_id FROM import_order_lines_resolved) stale
                CROSS JOIN LATERAL (SELECT x.id FROM {table(OrderLine)} x
                                    WHERE x.tenant_id = %s AND x.order_id = stale.order_id
                                      AND x.product_id = stale.product_id LIMIT 1) k))
            """,
            [db.tenant_id, db.tenant_id, db.tenant_id],
        )
        deleted = db.cursor.rowcount
        created = updated = 0
        for price_given in (True, False):
            batch_created, batch_updated = db.upsert(
                target=OrderLine,
                assignments=[
                    db.tenant(),
                    Assign("order_id", "r.order_id", update=False),
                    Assign("product_id", "r.product_id", update=False),
                    Assign("quantity", "r.quantity"),
                    Assign("unit_price", "r.unit_price", update=price_given),
                ],
                source="import_order_lines_resolved r WHERE r.price_given = %s",
                conflict=("tenant_id", "order_id", "product_id"),
                source_params=[price_given],
                # In key order, so most index insertions append to the right-most pages.
                order_by="r.order_id, r.product_id",
            )
            created += batch_created
            updated += batch_updated
        return KindCounts(
            rows_read=self.rows_read,
            created=created,
            updated=updated,
            unchanged=lines - created - updated,
            deleted=deleted,
            details=self._details(
                orders_created, orders_updated, self.header_spool.rows, merged=self.spool.rows - lines
            ),
        )

    @staticmethod
    def _details(created: int, updated: int, total: int, *, merged: int) -> dict[str, int]:
        details = {"orders_created": created, "orders_updated": updated, "orders_unchanged": total - created - updated}
        if merged:
            details["lines_merged"] = merged
        return details
