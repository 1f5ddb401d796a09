"""Property tests of the import's cell and row parsers (no database).

Whatever text lands in a numeric, date or coded field, the parsers either return a clean
value or raise FieldError with a message — nothing else escapes to crash an import.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retailsite.commerce.importers import ImportRun
from retailsite.commerce.importers.csvsource import CsvSource
from retailsite.commerce.importers.errors import ErrorLog
from retailsite.commerce.importers.fields import (
    FieldError,
    parse_birth_year,
    parse_bool,
    parse_datetime,
    parse_float,
    parse_money,
    parse_quantity,
    parse_text,
)
from retailsite.commerce.importers.kinds.customers import parse_country, parse_email, parse_gender
from retailsite.commerce.importers.kinds.events import parse_event_type
from retailsite.commerce.importers.kinds.orders import OrdersImporter
from retailsite.commerce.importers.kinds.products import parse_category_path, parse_tags
from retailsite.tenancy.models import Tenant

PARIS = ZoneInfo("Europe/Paris")
# Any text a spreadsheet could hold (lone surrogates cannot be written as UTF-8 at all).
cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
numberish = st.one_of(
    cell_text,
    st.from_regex(r"\A[ +-]?[0-9._eE,]{0,25}\s?\Z"),
    st.sampled_from(["nan", "inf", "-0", "1e999", "0x10", "١٢", "1_000", "", " "]),
)
dateish = st.one_of(cell_text, st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]{0,15}([+-Z][0-9:]{0,5})?)?\Z"))

PARSERS = {
    "quantity": parse_quantity,
    "money": parse_money,
    "float": parse_float,
    "bool": parse_bool,
    "birth_year": parse_birth_year,
    "datetime": lambda text: parse_datetime(text, default_zone=PARIS),
    "text": lambda text: parse_text(text, max_length=10),
    "gender": parse_gender,
    "country": parse_country,
    "email": parse_email,
    "event_type": parse_event_type,
    "category": parse_category_path,
    "tags": parse_tags,
}


@pytest.mark.parametrize("name", list(PARSERS))
@settings(max_examples=300, deadline=None)
@given(text=st.one_of(cell_text, numberish, dateish))
def test_parsers_only_ever_raise_field_error(name: str, text: str) -> None:
    try:
        PARSERS[name](text)
    except FieldError as error:
        assert str(error)  # a message the owner can read


@given(st.integers(min_value=1, max_value=1_000_000), st.sampled_from(["", " ", "+"]), st.sampled_from(["", ".0"]))
def test_quantity_round_trips(number: int, prefix: str, suffix: str) -> None:
    assert parse_quantity(f"{prefix}{number}{suffix}") == number


@given(st.integers(max_value=0, min_value=-(10**30)))
def test_non_positive_quantities_are_refused(number: int) -> None:
    with pytest.raises(FieldError, match="at least 1"):
        parse_quantity(str(number))


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2, allow_nan=False, allow_infinity=False))
def test_money_round_trips(amount: Decimal) -> None:
    assert parse_money(str(amount)) == amount
    assert parse_money(f"{amount:f}") == amount


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2025, 12, 31)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_datetimes_with_an_offset_round_trip(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    parsed = parse_datetime(aware.isoformat(), default_zone=PARIS)
    assert parsed == aware
    assert parsed.tzinfo == UTC


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2025, 12, 31)))
def test_naive_datetimes_are_in_the_default_zone(moment: datetime) -> None:
    parsed = parse_datetime(moment.isoformat(), default_zone=PARIS)
    # Compared as instants: Python never calls a time in a DST fold equal to one in another zone (PEP 495), and
    # a wall time in the autumn's repeated hour is read as its first occurrence.
    assert parsed.astimezone(UTC) == moment.replace(tzinfo=PARIS).astimezone(UTC)


def _validate_orders(cells: dict[str, str]) -> tuple[ErrorLog, OrdersImporter]:
    header = ["order_id", "customer_id", "product_id", "quantity", "ordered_at", "unit_price", "channel"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(
        [
            cells.get(column, default)
            for column, default in zip(header, ["O1", "C1", "P1", "1", "2024-01-01", "", "web"], strict=True)
        ]
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "orders.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        errors = ErrorLog(100)
        run = ImportRun(
            tenant=Tenant(slug="t", timezone="Europe/Paris"),
            zone=PARIS,
            errors=errors,
            stored_ids={"customer": {"C1"}, "product": {"P1"}},
        )
        importer = OrdersImporter(run, CsvSource(path, name="orders.csv", spec=OrdersImporter.columns, errors=errors))
        importer.validate()
    return errors, importer


@settings(max_examples=200, deadline=None)
@given(quantity=numberish, ordered_at=dateish, unit_price=numberish)
def test_order_rows_are_staged_or_rejected_cleanly(quantity: str, ordered_at: str, unit_price: str) -> None:
    errors, importer = _validate_orders({"quantity": quantity, "ordered_at": ordered_at, "unit_price": unit_price})
    try:
        if errors:
            assert importer.spool.rows == 0
            assert {(e.line, e.column) for e in errors.listed} <= {
                (2, "quantity"),
                (2, "ordered_at"),
                (2, "unit_price"),
            }
            assert all(e.message for e in errors.listed)
        else:
            assert importer.spool.rows == 1
            staged = next(importer.spool.decoded_rows())
            assert staged["quantity"] == parse_quantity(quantity)
            assert staged["unit_price"] == (parse_money(unit_price) if unit_price.strip() else None)
    finally:
        importer.close()


def test_a_valid_order_row_is_staged_with_parsed_values() -> None:
    errors, importer = _validate_orders({"quantity": " 3 ", "ordered_at": "2024-07-01T12:00:00", "unit_price": "4.5"})
    try:
        assert not errors
        staged = next(importer.spool.decoded_rows())
        assert (staged["order_ext"], staged["product_ext"], staged["quantity"], staged["unit_price"]) == (
            "O1",
            "P1",
            3,
            Decimal("4.50"),
        )
        header = next(importer.header_spool.decoded_rows())
        # Noon in Paris in July (UTC+2) is 10:00 UTC.
        assert header["ordered_at"] == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)
    finally:
        importer.close()
