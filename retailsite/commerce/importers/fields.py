"""Cell parsers shared by every import kind: text in, a typed value out, or a FieldError.

Each parser accepts any string and either returns a clean value or raises FieldError with
a message a store owner can act on — never another exception (a Hypothesis test holds
them to that). The caller adds file, line and column.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import Model

# Bounds that reject absurd values early with a clear message, well inside the column types.
EARLIEST_YEAR = 1970
MIN_BIRTH_YEAR = 1900
MAX_QUANTITY = 1_000_000
MAX_ABS_EVENT_VALUE = 1e9

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_FLOAT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WHOLE = re.compile(r"\+?(\d+)(?:\.0*)?")
_TRUE = frozenset({"1", "true", "t", "yes", "y"})
_FALSE = frozenset({"0", "false", "f", "no", "n"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def column_max_length(model: type[Model], field: str, fallback: int | None = None) -> int:
    """The max_length of a model's character field (`fallback` for unbounded ones, e.g. encrypted text)."""
    length = getattr(model._meta.get_field(field), "max_length", None) or fallback
    if length is None:
        raise TypeError(f"{model.__name__}.{field} has no max_length")
    return int(length)


class FieldError(ValueError):
    """A cell's value is not acceptable; the message says what was expected."""


def show(value: str, limit: int = 40) -> str:
    """A cell value quoted for a message, shortened if long."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def parse_text(value: str, *, max_length: int | None, required: bool = False, what: str = "value") -> str:
    """Trimmed text; refuses control characters (PostgreSQL text cannot hold NUL) and overlong values."""
    text = value.strip()
    # Fast path for the common case (str.isprintable is false for every control character).
    if text.isprintable() and (text or not required) and (max_length is None or len(text) <= max_length):
        return text
    if required and not text:
        raise FieldError(f"{what} is required and is empty")
    if _CONTROL.search(text):
        raise FieldError(f"contains a control character (e.g. NUL); {show(text)}")
    if max_length is not None and len(text) > max_length:
        raise FieldError(f"is {len(text)} characters long; at most {max_length} fit")
    return text


def parse_identifier(value: str, *, max_length: int, what: str = "id") -> str:
    """A required external id (customer, product, order ...)."""
    return parse_text(value, max_length=max_length, required=True, what=what)


def parse_whole_number(value: str, *, minimum: int, maximum: int, what: str = "value") -> int:
    text = value.strip()
    match = _WHOLE.fullmatch(text)
    if match is None:
        if _DECIMAL.fullmatch(text) and text.startswith("-"):
            raise FieldError(f"{what} must be at least {minimum}; got {show(text)}")
        raise FieldError(f"{what} must be a whole number; got {show(text)}")
    digits = match.group(1)
    number = int(digits) if len(digits) <= 20 else None
    if number is not None and number < minimum:
        raise FieldError(f"{what} must be at least {minimum}; got {number}")
    if number is None or number > maximum:
        raise FieldError(f"{what} {show(text)} is implausibly large (at most {maximum:,})")
    return number


def parse_quantity(value: str) -> int:
    """A positive whole quantity ("0" and negatives are refused)."""
    return parse_whole_number(value, minimum=1, maximum=MAX_QUANTITY, what="quantity")


def parse_money(value: str, *, max_digits: int = 12, decimal_places: int = 2, what: str = "amount") -> Decimal:
    """A non-negative amount such as 19.99 (no currency sign, '.' as the decimal point)."""
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        raise FieldError(f"{what} must be a number such as 19.99; got {show(text)}")
    amount = Decimal(text)
    if amount < 0:
        raise FieldError(f"{what} must not be negative; got {show(text)}")
    integer_digits = max_digits - decimal_places
    # Checked before quantize(), which cannot represent huge values at the default precision.
    if amount.adjusted() >= integer_digits:
        raise FieldError(f"{what} {show(text)} is too large (at most {integer_digits} digits before the point)")
    quantized = amount.quantize(Decimal(1).scaleb(-decimal_places))
    if quantized != amount:
        raise FieldError(f"{what} has more than {decimal_places} decimal places; got {show(text)}")
    return quantized


def parse_float(value: str, *, what: str = "value") -> float:
    text = value.strip()
    if not _FLOAT.fullmatch(text):
        raise FieldError(f"{what} must be a number; got {show(text)}")
    number = float(text)
    if not math.isfinite(number) or abs(number) > MAX_ABS_EVENT_VALUE:
        raise FieldError(f"{what} {show(text)} is out of range (at most {MAX_ABS_EVENT_VALUE:g} in size)")
    return number


def parse_bool(value: str, *, what: str = "value") -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(f"{what} must be true or false (also yes/no, 1/0); got {show(value.strip())}")


def parse_birth_year(value: str, *, today: date | None = None) -> int:
    this_year = (today or date.today()).year
    return parse_whole_number_in_range(value, MIN_BIRTH_YEAR, this_year, what="birth year")


def parse_whole_number_in_range(value: str, low: int, high: int, *, what: str) -> int:
    text = value.strip()
    match = _WHOLE.fullmatch(text)
    if match is None or len(match.group(1)) > 6:
        raise FieldError(f"{what} must be a whole number between {low} and {high}; got {show(text)}")
    number = int(match.group(1))
    if not low <= number <= high:
        raise FieldError(f"{what} {number} is out of range ({low} to {high})")
    return number


def latest_plausible_year() -> int:
    return date.today().year + 1


def parse_datetime(value: str, *, default_zone: tzinfo, latest_year: int | None = None) -> datetime:
    """An ISO 8601 date or date-time, returned in UTC.

    A date alone means midnight; a time without an offset is in `default_zone` (the
    tenant's time zone). Years before 1970 or after next year (`latest_year`, computed
    when not given) are refused as absurd.
    """
    text = value.strip()
    if not text:
        raise FieldError("date is empty; expected ISO 8601 such as 2024-03-31 or 2024-03-31T14:05:00+02:00")
    try:
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise FieldError(
            f"not an ISO 8601 date or date-time (e.g. 2024-03-31 or 2024-03-31T14:05:00+02:00); got {show(text)}"
        ) from None
    latest = latest_year if latest_year is not None else latest_plausible_year()
    if not EARLIEST_YEAR <= parsed.year <= latest:
        raise FieldError(f"date {show(text)} is out of range (years {EARLIEST_YEAR} to {latest})")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return parsed.astimezone(UTC)
