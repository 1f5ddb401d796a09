"""CSV cells that a spreadsheet would run as a formula (`=1+2`, `+cmd|...`, `@SUM(...)`) are written as text.

Every CSV the platform writes for people to open (data-subject exports, forecast, recommendation and
reorder-plan exports) passes its cells through `spreadsheet_safe` (OWASP "CSV injection"): a text cell
starting with = + - @, a tab or a carriage return gets a leading apostrophe. Numbers are left alone.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe_row(row: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [spreadsheet_safe(value) for value in row]
