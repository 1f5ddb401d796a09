"""events.csv: `customer_id` and/or `session_id`, `product_id,event_type,occurred_at`, optional `value`.

Events have no external id: each row's identity (`dedupe_key`) is a SHA-256 of its
normalized content (who, product, type, UTC time, value), so importing a file again —
or an overlapping export — inserts nothing twice.
"""

from __future__ import annotations

import hashlib
from typing import Any

from domain.events import EVENT_TYPES
from retailsite.commerce.models import Customer, Event, EventType, Product

from ..csvsource import ColumnSpec
from ..fields import (
    FieldError,
    column_max_length,
    latest_plausible_year,
    parse_datetime,
    parse_float,
    parse_identifier,
    parse_text,
    show,
)
from ..pg import Assign, PgSession
from ..registry import INVALID, KindCounts, KindImporter, register_kind


def parse_event_type(value: str) -> str:
    text = value.strip().lower()
    if text not in EVENT_TYPES:
        raise FieldError(f"unknown event type {show(value.strip())}; use one of {', '.join(EVENT_TYPES)}")
    return text


def event_dedupe_key(
    *, customer: str, session: str, product: str, event_type: str, occurred_at_utc: str, value: float | None
) -> str:
    """The identity of an imported event: a hash of its normalized content (64 hex characters)."""
    content = "\x1f".join(
        (customer, session, product, event_type, occurred_at_utc, "" if value is None else repr(float(value)))
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@register_kind
class EventsImporter(KindImporter):
    name = "events"
    position = 40
    depends_on = ("customers", "products")
    columns = ColumnSpec(
        required=("product_id", "event_type", "occurred_at"),
        optional=("value",),
        at_least_one_of=(("customer_id", "session_id"),),
    )
    stage_columns = (
        ("line_no", "bigint"),
        ("customer_ext", "text"),
        ("session_id", "text"),
        ("product_ext", "text"),
        ("event_type", "text"),
        ("value", "double precision"),
        ("occurred_at", "timestamptz"),
        ("dedupe_key", "text"),
    )

    def prepare(self) -> None:
        index = self.source.index
        self.positions = (
            index.get("customer_id"),
            index.get("session_id"),
            index["product_id"],
            index["event_type"],
            index["occurred_at"],
            index.get("value"),
        )
        self.customer_length = column_max_length(Customer, "external_id")
        self.session_length = column_max_length(Event, "session_id")
        self.product_length = column_max_length(Product, "external_id")
        self.latest_year = latest_plausible_year()
        self.customers = self.run.known_ids("customer") if self.source.has("customer_id") else set()
        self.products = self.run.known_ids("product")

    def parse_row(self, line: int, cells: list[str]) -> list[Any] | None:
        at_customer, at_session, at_product, at_type, at_time, at_value = self.positions
        # Fast path for good rows; on the first problem every cell is checked and reported.
        try:
            customer = "" if at_customer is None else parse_text(cells[at_customer], max_length=self.customer_length)
            session = "" if at_session is None else parse_text(cells[at_session], max_length=self.session_length)
            product = parse_identifier(cells[at_product], max_length=self.product_length, what="product_id")
            event_type = parse_event_type(cells[at_type])
            occurred_at = parse_datetime(cells[at_time], default_zone=self.run.zone, latest_year=self.latest_year)
            value_text = "" if at_value is None else cells[at_value].strip()
            value = parse_float(value_text) if value_text else None
        except FieldError:
            self._report_bad_cells(line, cells)
            return None
        if (
            (customer and customer not in self.customers)
            or product not in self.products
            or not (customer or session)
            or (event_type == EventType.RATING and value is None)
        ):
            self._report_bad_cells(line, cells)
            return None
        stamp = occurred_at.isoformat()
        key = event_dedupe_key(
            customer=customer,
            session=session,
            product=product,
            event_type=event_type,
            occurred_at_utc=stamp,
            value=value,
        )
        return [line, customer, session, product, event_type, value, stamp, key]

    def _report_bad_cells(self, line: int, cells: list[str]) -> None:
        at_customer, at_session, at_product, at_type, at_time, at_value = self.positions
        customer = (
            ""
            if at_customer is None
            else self.parsed(
                line, "customer_id", lambda t: parse_text(t, max_length=self.customer_length), cells[at_customer]
            )
        )
        session = (
            ""
            if at_session is None
            else self.parsed(
                line, "session_id", lambda t: parse_text(t, max_length=self.session_length), cells[at_session]
            )
        )
        product = self.parsed(
            line,
            "product_id",
            lambda t: parse_identifier(t, max_length=self.product_length, what="product_id"),
            cells[at_product],
        )
        event_type = self.parsed(line, "event_type", parse_event_type, cells[at_type])
        self.parsed(
            line,
            "occurred_at",
            lambda t: parse_datetime(t, default_zone=self.run.zone, latest_year=self.latest_year),
            cells[at_time],
        )
        value_text = "" if at_value is None else cells[at_value].strip()
        value = self.parsed(line, "value", parse_float, value_text) if value_text else None
        if event_type == EventType.RATING and value is None:
            self.fail(line, "value", "a rating needs a numeric value")
        if customer == "" and session == "":
            self.fail(
                line,
                "customer_id" if at_customer is not None else "session_id",
                "an event needs a customer_id or a session_id",
            )
        if customer not in (INVALID, "") and customer not in self.customers:
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

    def write_postgresql(self, db: PgSession) -> KindCounts:
        db.stage("import_events", self.spool, phase="writing events")
        db.key_table("import_customer_keys", Customer, "SELECT customer_ext FROM import_events")
        db.key_table("import_product_keys", Product, "SELECT product_ext FROM import_events")
        created, _ = db.upsert(
            target=Event,
            assignments=[
                db.tenant(),
                Assign("customer_id", "c.id", update=False),
                Assign("session_id", "COALESCE(s.session_id, '')", update=False),
                Assign("product_id", "p.id", update=False),
                Assign("event_type", "s.event_type", update=False),
                Assign("value", "s.value", update=False),
                Assign("occurred_at", "s.occurred_at", update=False),
                Assign("dedupe_key", "s.dedupe_key", update=False),
            ],
            source=(
                "import_events s LEFT JOIN import_customer_keys c ON c.external_id = s.customer_ext "
                "JOIN import_product_keys p ON p.external_id = s.product_ext"
            ),
            conflict=("tenant_id", "dedupe_key"),
        )
        return KindCounts(rows_read=self.rows_read, created=created, unchanged=self.spool.rows - created)
